import { renewWatches } from '../engine/jobs/jobs';
import { scheduledJob } from './scheduled-job';

/** renewWatches (Scheduler, hourly): fans renewals out to syncWorker. */
export const renewWatchesHandler = scheduledJob('renewWatches', (s) =>
  renewWatches({ sources: s.sources, publisher: s.publisher, clock: s.clock, logger: s.logger }, s.config.renewBeforeMs),
);
