import type { AccessRole } from './calendar-data';
import type { Reminder } from './calendar-items';
import type { Random } from './random';

/**
 * One account's calendar list: an entry per calendar it can see, with its access role and
 * default reminders. Every change bumps `seq`, so a calendarList sync token is "changes after
 * seq N", like an events one; a removed entry stays as deleted for incremental syncs.
 */

export interface ListEntry {
  calendarId: string;
  accessRole: AccessRole;
  primary: boolean;
  defaultReminders: Reminder[];
  seq: number;
  deleted: boolean;
}

export const ROLE_RANK: Record<AccessRole, number> = { freeBusyReader: 1, reader: 2, writer: 3, owner: 4 };

/** A new calendar's default reminders, as Google sets them for the primary one. */
export const PRIMARY_DEFAULT_REMINDERS: Reminder[] = [{ method: 'popup', minutes: 10 }];

export class CalendarList {
  seq = 0;
  readonly generation = 1;
  readonly entries = new Map<string, ListEntry>();
  /** What a calendarList channel reports as its resource id. */
  readonly resourceId: string;

  constructor(random: Random) {
    this.resourceId = random.hex(27);
  }

  /** Adds the calendar, or changes the account's role on it. */
  set(calendarId: string, accessRole: AccessRole, options: { primary?: boolean; defaultReminders?: Reminder[] } = {}): void {
    const previous = this.entries.get(calendarId);
    this.seq += 1;
    this.entries.set(calendarId, {
      calendarId,
      accessRole,
      primary: options.primary ?? previous?.primary ?? false,
      defaultReminders: options.defaultReminders ?? previous?.defaultReminders ?? [],
      seq: this.seq,
      deleted: false,
    });
  }

  remove(calendarId: string): void {
    const entry = this.entries.get(calendarId);
    if (!entry || entry.deleted) throw new Error(`no calendar ${calendarId} in the list`);
    this.seq += 1;
    Object.assign(entry, { deleted: true, seq: this.seq });
  }

  /** The calendar changed (e.g. its summary): incremental syncs list its entry again. */
  touch(calendarId: string): void {
    const entry = this.live(calendarId);
    if (!entry) return;
    this.seq += 1;
    entry.seq = this.seq;
  }

  live(calendarId: string): ListEntry | null {
    const entry = this.entries.get(calendarId);
    return entry && !entry.deleted ? entry : null;
  }
}
