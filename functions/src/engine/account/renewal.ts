import { isGoogleError } from '../errors';
import type { Source } from '../model';
import { renewalFinished, watchForgotten } from '../source/decisions';
import { closeCalendarChannel, openCalendarChannel, registerGmailWatch, type WatchDeps } from './watches';

/**
 * Renews one source's watches when they are missing, expired or expire within
 * `renewBeforeMs`. Gmail: users.watch again. Calendar: a new channel first, then the old one
 * is stopped (both deliver during the overlap; the runner makes the duplicates harmless).
 * Google answering 404/410 clears the watch fields and re-registers once. A failure is
 * recorded on the source (degraded, with the reason) and retried at the next hourly run.
 */
export async function renewSourceWatches(deps: WatchDeps, sourceId: string, renewBeforeMs: number): Promise<{ gmail: boolean; calendar: boolean }> {
  const source = await deps.sources.get(sourceId);
  if (!source || source.status === 'disconnected') return { gmail: false, calendar: false };
  const cutoff = new Date(deps.clock.now().getTime() + renewBeforeMs);
  const due = (expiration: Date | null) => expiration === null || expiration < cutoff;
  const renewed = { gmail: false, calendar: false };
  try {
    if (due(source.watchExpiration)) {
      await withReRegistration(deps, sourceId, 'gmail', () => registerGmailWatch(deps, sourceId));
      renewed.gmail = true;
    }
    if (due(source.calendarChannelExpiration)) {
      const { source: updated, replaced } = await withReRegistration(
        deps,
        sourceId,
        'calendar',
        () => openCalendarChannel(deps, sourceId),
      );
      if (replaced) await closeCalendarChannel(deps, updated, replaced);
      renewed.calendar = true;
    }
    await setRenewalError(deps, sourceId, null);
  } catch (error) {
    await setRenewalError(deps, sourceId, isGoogleError(error) ? error.kind : 'internal error');
    if (!isGoogleError(error)) throw error;
  }
  return renewed;
}

/** Google no longer knows the watch (404/410): forget it and register a fresh one, once. */
async function withReRegistration<T>(deps: WatchDeps, sourceId: string, which: 'gmail' | 'calendar', register: () => Promise<T>): Promise<T> {
  try {
    return await register();
  } catch (error) {
    if (!isGoogleError(error, 'not-found') && !isGoogleError(error, 'cursor-invalid')) throw error;
    await deps.sources.transition(sourceId, deps.clock.now(), watchForgotten(which));
    return register();
  }
}

async function setRenewalError(deps: WatchDeps, sourceId: string, renewalError: string | null): Promise<Source> {
  return deps.sources.transition(sourceId, deps.clock.now(), renewalFinished(renewalError));
}
