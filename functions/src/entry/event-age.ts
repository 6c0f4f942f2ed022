import type { CloudEvent } from '@google-cloud/functions-framework';

/**
 * Pub/Sub redelivers a failing message until its delivery attempts run out (then it goes to
 * the dead-letter topic). A delivery older than this is dropped instead: by then the fallback
 * poll has done the work, and an old notification can only repeat it.
 */
export const MAX_EVENT_AGE_MS = 60 * 60_000;

/**
 * The event's publish time (the CloudEvent `time`) is older than `maxAgeMs`. Pub/Sub stamps
 * that time with the wall clock, so `now` is the wall clock too, not the engine's clock.
 */
export function isStale(event: CloudEvent<unknown>, now: Date = new Date(), maxAgeMs = MAX_EVENT_AGE_MS): boolean {
  const published = event.time ? Date.parse(event.time) : NaN;
  return !Number.isNaN(published) && now.getTime() - published > maxAgeMs;
}
