import { scheduledJob } from './scheduled-job';

/**
 * publishChanges (Scheduler, every minute): publishes the change events whose writer did not
 * (a failed publish, an instance stopped between its commit and its publish).
 */
export const publishChangesHandler = scheduledJob('publishChanges', (s) => s.changes.sweep(s.clock));
