import { fallbackPoll } from '../engine/jobs/jobs';
import { scheduledJob } from './scheduled-job';

/** fallbackPoll (Scheduler, every 2 minutes): fans small polls out to syncWorker. */
export const fallbackPollHandler = scheduledJob('fallbackPoll', (s) =>
  fallbackPoll(
    { sources: s.sources, publisher: s.publisher, clock: s.clock, logger: s.logger },
    { fallbackAfterMs: s.config.fallbackAfterMs, pollPageSize: s.config.pollPageSize },
  ),
);
