import { pruneRetention } from '../engine/jobs/jobs';
import { scheduledJob } from './scheduled-job';

/** pruneRetention (Scheduler, daily): the backstop to the Firestore TTL policy. */
export const pruneRetentionHandler = scheduledJob('pruneRetention', (s) =>
  pruneRetention({ events: s.events, clock: s.clock, logger: s.logger }, { batchSize: 500, maxBatches: 200 }),
);
