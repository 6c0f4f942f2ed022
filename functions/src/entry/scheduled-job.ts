import type { Request, Response } from '@google-cloud/functions-framework';
import type { Services } from './services';

/**
 * The shape shared by the Cloud Scheduler targets: an authenticated (OIDC, enforced by
 * Cloud Run IAM) POST with no body, answered with the job's summary as JSON. A failure
 * answers 500, which Scheduler records and retries on its own schedule.
 */
export function scheduledJob<R extends object>(name: string, run: (services: Services) => Promise<R>) {
  return (services: () => Services) =>
    async (req: Request, res: Response): Promise<void> => {
      if (req.method !== 'POST' && req.method !== 'GET') {
        res.status(405).set('Allow', 'POST, GET').end();
        return;
      }
      const started = Date.now();
      const result = await run(services());
      res.status(200).json({ job: name, durationMs: Date.now() - started, ...result });
    };
}
