import type { AnnouncedWork, IngestionTrigger, Source } from '../model';
import type { LookFrom } from './follow-up';

/**
 * What starts a run, as one of three kinds; each carries only what makes sense for it.
 *
 * - `announced`: work someone announced (a Gmail push's history id, Calendar work a sync
 *   request or a Calendar look brings, or nothing: run what is pending); `calendarRetry`: which
 *   retry at lagging calendars a Calendar look is.
 * - `check`: a poll or a reconnect's catch-up: Gmail is asked what follows the cursor, and
 *   what it shows is recorded as work, like a push's. A fallback poll that finds nothing
 *   there asks its calendars too, and may end without the lease (runner/poll-first.ts).
 * - `look`: a tail look after a pass: Gmail is asked first, without the lease, whether
 *   anything follows `from` (where that pass got to) or the cursor; finding nothing ends it.
 */
export type RunTrigger =
  | (RunBasis & { kind: 'announced'; work: AnnouncedWork; pushAt?: Date; source?: Source; calendarRetry?: number })
  | (RunBasis & { kind: 'check'; calendar: boolean })
  | (RunBasis & { kind: 'look'; from: LookFrom | null });

interface RunBasis {
  /** What the ingestion log and the status call the run (a look after a push is a push). */
  trigger: IngestionTrigger;
  /** Small pages, for fallback polls. */
  pageSize?: number;
}

/**
 * The options callers used to pass as flags, for tests and tools that still speak them.
 * `checkGmail` asks Gmail what follows the cursor; `onlyIfGmailChanged` makes the run a look.
 */
export interface RunOptions {
  trigger: IngestionTrigger;
  pushAt?: Date;
  pageSize?: number;
  checkGmail?: boolean;
  onlyIfGmailChanged?: boolean;
  lookFrom?: LookFrom;
  source?: Source;
}

/** The trigger a set of flags meant. */
export function triggerOf(work: AnnouncedWork, options: RunOptions): RunTrigger {
  const basis: RunBasis = { trigger: options.trigger, ...(options.pageSize !== undefined && { pageSize: options.pageSize }) };
  if (options.onlyIfGmailChanged) return { ...basis, kind: 'look', from: options.lookFrom ?? null };
  if (options.checkGmail) return { ...basis, kind: 'check', calendar: work.calendar };
  return {
    ...basis,
    kind: 'announced',
    work,
    ...(options.pushAt !== undefined && { pushAt: options.pushAt }),
    ...(options.source !== undefined && { source: options.source }),
  };
}

/** The work a trigger announces before anything is asked. */
export function announcedWork(trigger: RunTrigger): AnnouncedWork {
  if (trigger.kind === 'announced') return trigger.work;
  return { gmail: null, calendar: trigger.kind === 'check' && trigger.calendar };
}

export function pushAtOf(trigger: RunTrigger): Date | undefined {
  return trigger.kind === 'announced' ? trigger.pushAt : undefined;
}
