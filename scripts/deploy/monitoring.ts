/**
 * Log-based metrics and alert policies, in the REST shapes that both `gcloud … --config-from-file`
 * and Terraform (infra/monitoring.tf, from infra/manifest.json) take. The metrics read the
 * functions' structured JSON logs (functions/src/logging.ts).
 */

import { LOG_EVENTS, LOGGED_SOURCE_TYPES, type LogMessage } from '../../functions/src/observability/log-events';

export interface LogMetric {
  description: string;
  filter: string;
  valueExtractor?: string;
  labelExtractors?: Record<string, string>;
  metricDescriptor: {
    metricKind: 'DELTA';
    valueType: 'INT64' | 'DISTRIBUTION';
    unit: string;
    labels: { key: string; valueType: 'STRING' }[];
  };
  bucketOptions?: { exponentialBuckets: { numFiniteBuckets: number; growthFactor: number; scale: number } };
}

interface Aggregation {
  alignmentPeriod: string;
  perSeriesAligner: string;
  crossSeriesReducer: string;
  groupByFields?: string[];
}
export interface Condition {
  displayName: string;
  conditionThreshold?: { filter: string; comparison: 'COMPARISON_GT'; thresholdValue: number; duration: string; aggregations: Aggregation[] };
  conditionAbsent?: { filter: string; duration: string; aggregations: Aggregation[] };
}
export interface AlertPolicy {
  displayName: string;
  combiner: 'OR' | 'AND';
  documentation: { content: string; mimeType: 'text/markdown' };
  conditions: Condition[];
}

/** A filter on log messages: only messages of the catalogue, which a test checks are logged. */
const message = (...messages: LogMessage[]) => `jsonPayload.message=(${messages.map((m) => `"${m}"`).join(' OR ')})`;
const SYNC_FINISHED = message(...LOGGED_SOURCE_TYPES.map(LOG_EVENTS.syncFinished));
const AUDIT_FINISHED = message(LOG_EVENTS.auditFinished);

function labelled(keys: Record<string, string>) {
  return {
    labels: Object.keys(keys).map((key) => ({ key, valueType: 'STRING' as const })),
    labelExtractors: Object.fromEntries(Object.entries(keys).map(([k, field]) => [k, `EXTRACT(jsonPayload.${field})`])),
  };
}

function counter(description: string, filter: string, labels: Record<string, string> = {}): LogMetric {
  const { labels: descriptorLabels, labelExtractors } = labelled(labels);
  return {
    description,
    filter,
    ...(descriptorLabels.length > 0 && { labelExtractors }),
    metricDescriptor: { metricKind: 'DELTA', valueType: 'INT64', unit: '1', labels: descriptorLabels },
  };
}

function distribution(description: string, filter: string, field: string, unit: string, labels: Record<string, string> = {}, scale = 1): LogMetric {
  const { labels: descriptorLabels, labelExtractors } = labelled(labels);
  return {
    description,
    filter,
    valueExtractor: `EXTRACT(jsonPayload.${field})`,
    ...(descriptorLabels.length > 0 && { labelExtractors }),
    metricDescriptor: { metricKind: 'DELTA', valueType: 'DISTRIBUTION', unit, labels: descriptorLabels },
    bucketOptions: { exponentialBuckets: { numFiniteBuckets: scale > 1 ? 32 : 16, growthFactor: scale > 1 ? 1.5 : 2, scale } },
  };
}

export const LOG_METRICS = {
  'sync_engine/sync_latency': distribution('Sync duration by type and trigger', SYNC_FINISHED, 'durationMs', 'ms', { type: 'type', trigger: 'trigger' }, 10),
  'sync_engine/tasks_ingested': distribution('Tasks written per sync', `${SYNC_FINISHED} AND jsonPayload.counts.tasksWritten>0`, 'counts.tasksWritten', '1', { type: 'type' }),
  'sync_engine/sync_runs': counter('Syncs finished, by trigger', SYNC_FINISHED, { trigger: 'trigger', type: 'type' }),
  'sync_engine/sync_errors': counter('Syncs failed, by error class', message(...LOGGED_SOURCE_TYPES.map(LOG_EVENTS.syncFailed)), { error_class: 'errorClass' }),
  'sync_engine/source_status_changes': counter('Source status changes, by new status', message(LOG_EVENTS.sourceStatusChanged), { status: 'status' }),
  'sync_engine/watches_expiring_24h': distribution('Renewals requested per renewWatches run', message(LOG_EVENTS.renewalFannedOut), 'requested', '1'),
  'sync_engine/fallback_fanouts': counter('fallbackPoll runs that found sources to poll', `${message(LOG_EVENTS.pollFannedOut)} AND jsonPayload.requested>0`),
  'sync_engine/stale_events_dropped': counter('Pub/Sub deliveries dropped as too old', message(LOG_EVENTS.gmailNotificationStale, LOG_EVENTS.syncRequestStale)),
  'sync_engine/audits': counter('Completeness audits, per source and type', AUDIT_FINISHED, { type: 'type' }),
  'sync_engine/audits_incomplete': counter('Completeness audits that found missing or wrong items', `${AUDIT_FINISHED} AND (jsonPayload.missing>0 OR jsonPayload.wrongState>0)`, { type: 'type' }),
  'sync_engine/audit_missing_items': distribution('Items missing per audit', AUDIT_FINISHED, 'missing', '1', { type: 'type' }),
  'sync_engine/audit_repaired_twice': counter('Sources repaired by two audits in a row', message(LOG_EVENTS.auditRepairedTwice)),
  'sync_engine/change_publish_failures': counter('Change stream publishes that failed (the events stay in the outbox for publishChanges)', message(LOG_EVENTS.changesPublishFailed)),
} satisfies Record<string, LogMetric>;

const userMetric = (name: keyof typeof LOG_METRICS) => `metric.type="logging.googleapis.com/user/${name}" AND resource.type="cloud_run_revision"`;
const sum = (seconds: number): Aggregation[] => [{ alignmentPeriod: `${seconds}s`, perSeriesAligner: 'ALIGN_SUM', crossSeriesReducer: 'REDUCE_SUM' }];
const docs = (content: string) => ({ content, mimeType: 'text/markdown' as const });

function above(displayName: string, filter: string, threshold: number, aggregations: Aggregation[], duration = '0s'): Condition {
  return { displayName, conditionThreshold: { filter, comparison: 'COMPARISON_GT', thresholdValue: threshold, duration, aggregations } };
}

/**
 * Alert policies. None fires on a fresh install with no sources: every condition needs
 * something to have happened (errors, a disconnection, a dead letter, a backlog, polls with
 * work), never the mere absence of traffic.
 */
export function alertPolicies(pushSubscriptions: string[]): Record<string, AlertPolicy> {
  const subscriptions = `resource.type="pubsub_subscription" AND resource.label.subscription_id=one_of(${pushSubscriptions.map((s) => `"${s}"`).join(', ')})`;
  return {
    sync_errors: {
      displayName: 'Sync engine: sync errors',
      combiner: 'OR',
      documentation: docs('More than 20 syncs failed in 10 minutes. The dashboard splits them by error class.'),
      conditions: [above('more than 20 sync errors in 10 minutes', userMetric('sync_engine/sync_errors'), 20, sum(600))],
    },
    stalled: {
      displayName: 'Sync engine: polls requested but no sync finishes',
      combiner: 'AND',
      documentation: docs('fallbackPoll keeps finding sources to poll, yet no sync has finished for 30 minutes: syncWorker is failing or not invoked.'),
      conditions: [
        { displayName: 'no sync finished for 30 minutes', conditionAbsent: { filter: userMetric('sync_engine/sync_runs'), duration: '1800s', aggregations: sum(300) } },
        above('fallbackPoll found sources to poll', userMetric('sync_engine/fallback_fanouts'), 0, sum(1800)),
      ],
    },
    disconnections: {
      displayName: 'Sync engine: sources disconnected',
      combiner: 'OR',
      documentation: docs('A source became disconnected (token revoked or permission missing): the user must reconnect.'),
      conditions: [above('a source became disconnected', `${userMetric('sync_engine/source_status_changes')} AND metric.label.status="disconnected"`, 0, sum(300))],
    },
    dead_letters: {
      displayName: 'Sync engine: dead letters',
      combiner: 'OR',
      documentation: docs('A Pub/Sub delivery exhausted its attempts. Inspect it with `gcloud pubsub subscriptions pull <topic>-inspect`; see docs/deployment.md.'),
      conditions: [
        above(
          'messages waiting in a dead-letter inspection subscription',
          'metric.type="pubsub.googleapis.com/subscription/num_undelivered_messages" AND resource.type="pubsub_subscription" AND resource.label.subscription_id=monitoring.regex.full_match(".*-dead-letter-inspect")',
          0,
          [{ alignmentPeriod: '300s', perSeriesAligner: 'ALIGN_MAX', crossSeriesReducer: 'REDUCE_SUM' }],
        ),
      ],
    },
    backlog_age: {
      displayName: 'Sync engine: Pub/Sub backlog is old',
      combiner: 'OR',
      documentation: docs('The oldest unacknowledged message of a push subscription is older than 15 minutes.'),
      conditions: [
        above(
          'oldest unacked message older than 15 minutes',
          `metric.type="pubsub.googleapis.com/subscription/oldest_unacked_message_age" AND ${subscriptions}`,
          900,
          [{ alignmentPeriod: '300s', perSeriesAligner: 'ALIGN_MAX', crossSeriesReducer: 'REDUCE_MAX' }],
          '600s',
        ),
      ],
    },
    function_errors: {
      displayName: 'Sync engine: function 5xx',
      combiner: 'OR',
      documentation: docs('Functions answered more than 20 requests with 5xx in 10 minutes.'),
      conditions: [
        above(
          'more than 20 5xx answers in 10 minutes',
          'metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision" AND metric.label.response_code_class="5xx"',
          20,
          sum(600),
        ),
      ],
    },
    audit_repaired_twice: {
      displayName: 'Sync engine: repaired twice in a row',
      combiner: 'OR',
      documentation: docs('The completeness audit had to repair the same source in two consecutive runs: pushes or syncs are losing items for it.'),
      conditions: [above('a source was repaired by two audits in a row', userMetric('sync_engine/audit_repaired_twice'), 0, sum(3600))],
    },
  };
}
