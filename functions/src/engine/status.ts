import type { Source, SourceStatus } from './model';

/**
 * The status rules: one pure function of a source's state and the clock. Every writer of
 * status goes through it; nothing else decides whether a source is active.
 */

export interface StatusSettings {
  /** Repeated errors in a row that make a source degraded. */
  errorThreshold: number;
}

export const DEFAULT_STATUS_SETTINGS: StatusSettings = { errorThreshold: 3 };

export interface DerivedStatus {
  status: SourceStatus;
  statusReason: string | null;
}

type StatusInputs = Pick<Source, 'disconnectReason' | 'consecutiveErrors' | 'watchExpiration' | 'calendarChannelExpiration' | 'polling'>;

export function deriveStatus(source: StatusInputs, now: Date, settings: StatusSettings = DEFAULT_STATUS_SETTINGS): DerivedStatus {
  if (source.disconnectReason !== null) return { status: 'disconnected', statusReason: source.disconnectReason };
  if (source.consecutiveErrors >= settings.errorThreshold) {
    return { status: 'degraded', statusReason: `${source.consecutiveErrors} sync errors in a row` };
  }
  if (source.watchExpiration === null) return { status: 'degraded', statusReason: 'No Gmail watch registered' };
  if (source.watchExpiration <= now) return { status: 'degraded', statusReason: 'Gmail watch expired' };
  if (source.calendarChannelExpiration === null) return { status: 'degraded', statusReason: 'No Calendar channel registered' };
  if (source.calendarChannelExpiration <= now) return { status: 'degraded', statusReason: 'Calendar channel expired' };
  if (source.polling) return { status: 'degraded', statusReason: 'Falling back to polling' };
  return { status: 'active', statusReason: null };
}

/** Applies a change to a source and re-derives its status from the result. */
export function withStatus<T extends StatusInputs>(next: T, now: Date): T & DerivedStatus {
  return { ...next, ...deriveStatus(next, now) };
}
