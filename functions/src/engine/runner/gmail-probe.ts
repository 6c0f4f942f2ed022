import { isGoogleError } from '../errors';
import { historyIdAfter, isNewerHistoryId } from '../gmail/history-id';
import type { GmailApi } from '../gmail/ports';
import { decidingLabel, historyFilter, ruleOf } from '../gmail/rule';
import type { EarlyPage, GmailSync, HistoryPage } from '../gmail/sync';
import type { AnnouncedWork, Source } from '../model';
import type { Clock, GoogleAccess } from '../ports';
import { leaseLive } from '../source/lease';
import type { LookFrom } from './follow-up';
import type { RunTrigger } from './trigger';

/**
 * Asking Gmail before the lease: what a look or a poll finds after the cursor, and the first
 * page of a pass asked for while the lease is being taken. History is append-only, so what is
 * read before the lease is as true once it is held.
 */

/** What Gmail answered about the history after a point. */
export type GmailFind =
  /** Nothing after the point. */
  | { kind: 'nothing' }
  /** Something: the last record seen (work to record), and the page read there (`null`: the pass reads it itself). */
  | { kind: 'found'; historyId: string; page: EarlyPage | null }
  /** No clear answer (an error other than a transient one), or no client to ask without a read. */
  | { kind: 'unclear' };

/** What the probe learnt before the run records its work. */
export interface GmailProbe {
  /** The last record Gmail showed after the cursor: work to record like a push's. `null`: nothing, or not asked. */
  seen: string | null;
  /** The first page of the pass, when a look already read it. */
  page: EarlyPage | null;
}

export const NOT_ASKED: GmailProbe = { seen: null, page: null };

export class GmailProber {
  /**
   * Sources whose run on this instance asked for an early page and is still taking the lease
   * (a look that hands its own page to the pass does not count: a push meanwhile may list once
   * more).
   */
  private readonly asking = new Set<string>();

  constructor(
    private readonly deps: { google: GoogleAccess; clock: Clock },
    private readonly gmailSync: Pick<GmailSync, 'deltaStart' | 'firstPage' | 'earlyPage'>,
  ) {}

  /**
   * A tail look from where the pass that asked for it got to, with the client this instance
   * holds for the same credentials, before any Firestore read. `unclear` without such a
   * client. A look from a point older than the cursor only finds more, never less.
   */
  async warmLook(sourceId: string, trigger: RunTrigger): Promise<GmailFind> {
    // A walk's look runs whatever history shows: its work is the walk.
    if (trigger.kind !== 'look' || trigger.from === null || trigger.from.walkAt !== undefined) return { kind: 'unclear' };
    const gmail = this.deps.google.warmGmail(sourceId, trigger.from.credentialsAt);
    return gmail === null ? { kind: 'unclear' } : this.lookAfter(() => gmail, trigger.from.labelId, trigger.from.historyId);
  }

  /**
   * What a look or a poll sees after the source's cursor. A warm look's find counts when it
   * looked from the cursor; otherwise the look asks from the cursor now. Polls ask with the
   * INBOX filter too: changes no pass would list are no work. Announced work asks nothing.
   */
  async probe(source: Source, trigger: RunTrigger, warm: GmailFind): Promise<GmailProbe> {
    if (trigger.kind === 'announced') return NOT_ASKED;
    const look = trigger.kind === 'look' ? await this.lookFromCursor(source, trigger.from, warm) : null;
    if (look === null) return { seen: await this.historySince(source), page: null };
    return look.kind === 'found' ? { seen: look.historyId, page: look.page } : NOT_ASKED;
  }

  /** The look's find from the cursor; `null` when a pass would not start with a delta from it. */
  private async lookFromCursor(source: Source, from: LookFrom | null, warm: GmailFind): Promise<GmailFind | null> {
    if (warm.kind === 'found' && source.historyId === from?.historyId) return warm;
    const cursor = this.gmailSync.deltaStart(source);
    if (cursor === null) return null;
    const found = await this.lookAfter(() => this.deps.google.gmail(source), decidingLabel(ruleOf(source)), cursor);
    // An unclear answer counts as something found, as a poll counts it: the pass asks itself.
    return found.kind === 'unclear' ? { kind: 'found', historyId: historyIdAfter(cursor), page: null } : found;
  }

  /** One `history.list` after `from`: the first page a pass from there reads. */
  private async lookAfter(gmail: () => GmailApi | Promise<GmailApi>, labelId: string, from: string): Promise<GmailFind> {
    const first = (async () => this.gmailSync.firstPage(await gmail(), labelId, from, null))();
    const page = await listedAfter(async () => (await first).page);
    if (page === 'unclear') return { kind: 'unclear' };
    return page === null ? { kind: 'nothing' } : { kind: 'found', historyId: lastSeen(page, from), page: await first };
  }

  /**
   * The mailbox's history id if Gmail holds records after the source's cursor (with the pass's
   * INBOX filter), else `null`: a poll takes it as work all the same (its pass waits for nothing,
   * and never moves the cursor past what it lists). Anything unclear, a transient failure too, is
   * left to a normal run from the cursor, which accounts for it (thrown here, it would fail every
   * poll before anything is recorded).
   */
  private async historySince(source: Source): Promise<string | null> {
    const cursor = source.historyId;
    if (cursor === null) return historyIdAfter(cursor);
    const list = async () => (await this.deps.google.gmail(source)).listHistory(cursor, null, 1, historyFilter(decidingLabel(ruleOf(source))));
    const page = await listedAfter(list).catch((): 'unclear' => 'unclear');
    if (page === 'unclear') return historyIdAfter(cursor);
    return page?.historyId ?? null;
  }

  /**
   * When this run will most likely take a free lease for new Gmail work, the pass's first
   * page is asked for alongside the write that takes it: a lone change then waits for one
   * Firestore write less. Wasted (one `history.list`) only if another trigger takes the lease
   * in between; any failure here is left to the pass itself. `release` once the lease write is
   * done.
   */
  async earlyPage(source: Source, work: AnnouncedWork, pageSize: number | null): Promise<{ page: EarlyPage | null; release: () => void }> {
    const newWork = work.gmail !== null && isNewerHistoryId(work.gmail, source.historyId);
    // A burst's triggers on this instance: only the first asks early; the rest will find its lease.
    if (!newWork || leaseLive(source, this.deps.clock.now()) || this.asking.has(source.id)) return { page: null, release: () => undefined };
    this.asking.add(source.id);
    const release = () => this.asking.delete(source.id);
    let page: EarlyPage | null = null;
    try {
      page = this.gmailSync.earlyPage(await this.deps.google.gmail(source), source, pageSize);
    } catch {
      // No client (no usable credentials): the pass finds out and reports it.
    }
    if (page === null) release();
    return { page, release };
  }
}

/**
 * The last record a page shows after `from`: the work a look records. Not the answer's history
 * id, which may count changes no pass lists (other labels, or not served yet): a pass short of
 * it would lag and ask for retries (gmail/read-lag.ts).
 */
function lastSeen(page: HistoryPage, from: string): string {
  return page.records[page.records.length - 1]?.id ?? historyIdAfter(from);
}

/**
 * One `history.list`: the page if Gmail holds history after its start, else `null`.
 * Transient failures are thrown (the caller retries); any other failure is `unclear`.
 */
async function listedAfter(list: () => Promise<HistoryPage>): Promise<HistoryPage | null | 'unclear'> {
  try {
    const page = await list();
    return page.records.length > 0 || page.nextPageToken !== null ? page : null;
  } catch (error) {
    if (isGoogleError(error) && error.transient) throw error;
    return 'unclear';
  }
}
