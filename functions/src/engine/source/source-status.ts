import type { Source } from '../model';
import { deriveStatus, type StatusSettings } from './status';

/** What the status endpoint and page show for one source, derived with the current clock. */
export interface SourceStatusView {
  sourceId: string;
  email: string;
  status: Source['status'];
  reason: string | null;
  polling: boolean;
  lastSyncAt: string | null;
  watchExpiration: string | null;
  calendarChannelExpiration: string | null;
  /** When the completeness audit last checked the source. */
  lastAuditAt: string | null;
}

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

/**
 * Status is stored on each source at every write, but time alone can change it (a watch
 * expires, a poll is late), so views re-derive it with the same rules and the current clock.
 */
export function sourceStatusView(source: Source, now: Date, settings: StatusSettings): SourceStatusView {
  const derived = deriveStatus(source, now, settings);
  return {
    sourceId: source.id,
    email: source.email,
    status: derived.status,
    reason: derived.statusReason,
    polling: derived.polling,
    lastSyncAt: iso(source.lastSyncAt),
    watchExpiration: iso(source.watchExpiration),
    calendarChannelExpiration: iso(source.calendarChannelExpiration),
    lastAuditAt: iso(source.lastAuditAt),
  };
}
