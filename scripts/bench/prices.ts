/**
 * Google Cloud list prices (USD) the cost model uses, at the deployed settings: Firestore in
 * `nam5` (deploy.sh's default), everything else in `us-central1`, Tier 1, request-based
 * billing. Each price carries the page it comes from and when it was read; `checked` says
 * whether this session found the figure on a stored copy of that page (true) or carried it
 * from the provider's page as last read without a fresh copy (false): this session's copies
 * showed Cloud Tasks' price, Pub/Sub's $40 per TiB with its 10 GiB free, Firestore's and Cloud
 * Run's free tiers and Cloud Logging's 50 GiB free, not the other figures. Free tiers are listed
 * but the per-account cost is computed WITHOUT them: they are per project or per billing
 * account, so they vanish as accounts grow.
 */

export interface Price {
  /** USD per `per` units of `unit`. */
  usd: number;
  per: number;
  unit: string;
  /** What is free each month (or day), in the same unit; stated, never subtracted. */
  free: string | null;
  source: string;
  read: string;
  checked: boolean;
}

const READ = '2026-12-07';

export const PRICES = {
  firestoreRead: { usd: 0.06, per: 100_000, unit: 'document read (nam5)', free: '50,000 per day, (default) database only', source: 'https://cloud.google.com/firestore/pricing', read: READ, checked: false },
  firestoreWrite: { usd: 0.18, per: 100_000, unit: 'document write (nam5)', free: '20,000 per day', source: 'https://cloud.google.com/firestore/pricing', read: READ, checked: false },
  /** TTL deletes are billed as deletes and have no free quota. */
  firestoreDelete: { usd: 0.02, per: 100_000, unit: 'document delete, TTL deletes included (nam5)', free: '20,000 per day; none for TTL deletes', source: 'https://cloud.google.com/firestore/pricing', read: READ, checked: false },
  /** Request-based billing: CPU and memory are billed while an instance serves at least one request, rounded up to 100 ms. */
  runVcpuSecond: { usd: 0.000024, per: 1, unit: 'vCPU-second while serving (Tier 1, request-based)', free: '180,000 vCPU-seconds per month per billing account', source: 'https://cloud.google.com/run/pricing', read: READ, checked: false },
  runGibSecond: { usd: 0.0000025, per: 1, unit: 'GiB-second while serving (Tier 1, request-based)', free: '360,000 GiB-seconds per month per billing account', source: 'https://cloud.google.com/run/pricing', read: READ, checked: false },
  runRequest: { usd: 0.4, per: 1_000_000, unit: 'request (invocation)', free: '2 million per month per billing account', source: 'https://cloud.google.com/run/pricing', read: READ, checked: false },
  /** Publish and delivery are each throughput; each request counts at least 1,000 bytes. */
  pubsubTib: { usd: 40, per: 2 ** 40, unit: 'byte of throughput (publish or delivery, each request at least 1,000 bytes)', free: '10 GiB per month per billing account', source: 'https://cloud.google.com/pubsub/pricing', read: READ, checked: true },
  /** An operation is an API call or a push delivery attempt (per 32 KB). */
  cloudTasksOperation: { usd: 0.4, per: 1_000_000, unit: 'Cloud Tasks operation (API call or delivery attempt)', free: '1 million per month per billing account', source: 'https://cloud.google.com/tasks/pricing', read: READ, checked: true },
  schedulerJob: { usd: 0.1, per: 1, unit: 'Cloud Scheduler job per month', free: '3 jobs per month per billing account', source: 'https://cloud.google.com/scheduler/pricing', read: READ, checked: false },
  kmsOperation: { usd: 0.03, per: 10_000, unit: 'KMS cryptographic operation (software key: decrypt, encrypt)', free: null, source: 'https://cloud.google.com/kms/pricing', read: READ, checked: false },
  kmsKeyVersion: { usd: 0.06, per: 1, unit: 'active software key version per month', free: null, source: 'https://cloud.google.com/kms/pricing', read: READ, checked: false },
  secretAccess: { usd: 0.03, per: 10_000, unit: 'Secret Manager access operation', free: '10,000 per month per billing account', source: 'https://cloud.google.com/secret-manager/pricing', read: READ, checked: false },
  secretVersion: { usd: 0.06, per: 1, unit: 'active secret version per location per month', free: '6 versions per month', source: 'https://cloud.google.com/secret-manager/pricing', read: READ, checked: false },
  loggingGib: { usd: 0.5, per: 2 ** 30, unit: 'byte of log ingested (storage for 30 days included)', free: '50 GiB per project per month', source: 'https://cloud.google.com/stackdriver/pricing', read: READ, checked: false },
} as const satisfies Record<string, Price>;

export type PriceName = keyof typeof PRICES;

/** USD for `quantity` units at a list price. */
export const costOf = (name: PriceName, quantity: number): number => (PRICES[name].usd / PRICES[name].per) * quantity;

/** Pub/Sub counts each publish or delivery request as at least this many bytes. */
export const PUBSUB_MIN_BYTES_PER_REQUEST = 1000;

/**
 * Cloud Logging stores each stdout line as a LogEntry: the line's JSON becomes `jsonPayload`
 * and the platform adds the resource (service, revision, location, project), the instance id,
 * insertId, logName, timestamps and trace. Google does not publish the billed size of that
 * envelope; this is an ESTIMATE from the fields a Cloud Run entry carries, stated as such and
 * added to every line the bench counts. The request log Cloud Run writes per request (its
 * httpRequest: URL, status, latency, sizes, user agent, addresses) is counted as one line of
 * the bench's request log plus this envelope and REQUEST_LOG_FIELDS_BYTES.
 */
export const LOG_ENTRY_ENVELOPE_BYTES = 600;
export const REQUEST_LOG_FIELDS_BYTES = 300;
