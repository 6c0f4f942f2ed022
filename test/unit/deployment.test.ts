import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { FUNCTIONS } from '../../functions/src/register';

/** Terraform and the gcloud script cannot reach Google from here: they are checked by construction. */

const infra = join(__dirname, '../../infra');
type Block = Record<string, unknown>;
type Terraform = { resource: Record<string, Record<string, Block[]>>; locals: Block[] };

let tf: Terraform;

beforeAll(async () => {
  const merged: Terraform = { resource: {}, locals: [] };
  for (const file of readdirSync(infra).filter((f) => f.endsWith('.tf'))) {
    const parsed = (await parse(file, readFileSync(join(infra, file), 'utf8'))) as Partial<Terraform>;
    for (const [type, byName] of Object.entries(parsed.resource ?? {})) merged.resource[type] = { ...merged.resource[type], ...byName };
    merged.locals.push(...(parsed.locals ?? []));
  }
  tf = merged;
});

const local = <T>(name: string): T => tf.locals.find((l) => name in l)![name] as T;
const resources = (type: string) => tf.resource[type] ?? {};
const only = (type: string, name: string) => resources(type)[name]![0]!;

describe('Terraform', () => {
  it('declares exactly the registered functions, each with its entry point and trigger', () => {
    const declared = local<Record<string, { trigger: string }>>('functions');
    expect(Object.fromEntries(Object.entries(declared).map(([n, f]) => [n, f.trigger]))).toEqual(FUNCTIONS);
    const event = only('google_cloudfunctions2_function', 'event');
    const http = only('google_cloudfunctions2_function', 'http');
    // for_each over the same map, split by trigger; the entry point is the function's name.
    expect(event.for_each).toContain('f.trigger == "event"');
    expect(http.for_each).toContain('f.trigger == "http"');
    for (const fn of [event, http]) expect((fn.build_config as Block[])[0]!.entry_point).toBe('${each.key}');
    expect(http).not.toHaveProperty('event_trigger');
  });

  it('retries event triggers', () => {
    const trigger = (only('google_cloudfunctions2_function', 'event').event_trigger as Block[])[0]!;
    expect(trigger.retry_policy).toBe('RETRY_POLICY_RETRY');
    expect(trigger.event_type).toBe('google.cloud.pubsub.topic.v1.messagePublished');
  });

  it('lets Gmail publish to its topic', () => {
    expect(only('google_pubsub_topic_iam_member', 'gmail_publisher')).toMatchObject({
      role: 'roles/pubsub.publisher',
      member: 'serviceAccount:gmail-api-push@system.gserviceaccount.com',
    });
  });

  it('sets the TTL policy on ingestion_events.expireAt', () => {
    const field = only('google_firestore_field', 'ingestion_events_ttl');
    expect(field).toMatchObject({ collection: 'ingestion_events', field: 'expireAt' });
    expect(field.ttl_config).toBeDefined();
  });

  it('schedules the four jobs with OIDC', () => {
    expect(local<Record<string, string>>('schedules')).toEqual({ renewWatches: '0 * * * *', fallbackPoll: '*/2 * * * *', pruneRetention: '30 3 * * *', auditCompleteness: '15 4 * * *' });
    const target = (only('google_cloud_scheduler_job', 'jobs').http_target as Block[])[0]!;
    expect(target.oidc_token).toBeDefined();
  });

  it('declares the same composite indexes as firestore.indexes.json', () => {
    const json = JSON.parse(readFileSync(join(__dirname, '../../firestore.indexes.json'), 'utf8')) as {
      indexes: { collectionGroup: string; fields: { fieldPath: string; order: string }[] }[];
    };
    const fromJson = json.indexes.map((i) => `${i.collectionGroup}: ${i.fields.map((f) => `${f.fieldPath} ${f.order}`).join(', ')}`).sort();
    const fromTf = Object.values(resources('google_firestore_index'))
      .map(([index]) => `${index!.collection as string}: ${(index!.fields as { field_path: string; order: string }[]).map((f) => `${f.field_path} ${f.order}`).join(', ')}`)
      .sort();
    expect(fromTf).toEqual(fromJson);
  });

  it('grants no primitive roles', () => {
    const text = readdirSync(infra).filter((f) => f.endsWith('.tf')).map((f) => readFileSync(join(infra, f), 'utf8')).join('\n');
    expect(text).not.toMatch(/roles\/(owner|editor|viewer)"/);
    const roles = local<Record<string, string[]>>('runtime_roles');
    expect(Object.values(roles).flat().every((r) => !/^roles\/(owner|editor|viewer)$/.test(r))).toBe(true);
  });

  it('has a dashboard whose metrics all exist as log-based metrics', () => {
    const dashboard = readFileSync(join(infra, 'dashboards/sync-engine.json'), 'utf8');
    const used = [...dashboard.matchAll(/logging\.googleapis\.com\/user\/([\w/]+)/g)].map((m) => m[1]!);
    const defined = Object.values(resources('google_logging_metric')).map(([m]) => m!.name as string);
    expect(used.length).toBeGreaterThanOrEqual(6);
    expect(used.filter((m) => !defined.includes(m))).toEqual([]);
  });
});

describe('scripts/deploy.sh --dry-run', () => {
  const output = execFileSync('bash', [join(__dirname, '../../scripts/deploy.sh'), '--dry-run', '--project', 'demo-p', '--oauth-client-id', 'id.apps.googleusercontent.com', '--connect-return-url', 'https://tasks.example.com'], { encoding: 'utf8' });
  const deploys = output.split('\n').filter((l) => l.includes(' functions deploy '));

  it('deploys exactly the registered functions with the right entry point and trigger', () => {
    const deployed = Object.fromEntries(
      deploys.map((line) => {
        const name = /functions deploy (\w+)/.exec(line)![1]!;
        expect(line).toContain(`--entry-point=${name}`);
        return [name, line.includes('--trigger-http') ? 'http' : 'event'];
      }),
    );
    expect(deployed).toEqual(FUNCTIONS);
    for (const line of deploys.filter((l) => l.includes('--trigger-topic'))) expect(line).toContain('--retry');
  });

  it('prints, and runs nothing: every step is a command line', () => {
    expect(output).toContain('pubsub topics add-iam-policy-binding gmail-watch --member=serviceAccount:gmail-api-push@system.gserviceaccount.com --role=roles/pubsub.publisher');
    expect(output).toContain('firestore fields ttls update expireAt --collection-group=ingestion_events --enable-ttl');
    expect(output).toContain('firebase deploy --only firestore');
    expect(output.match(/scheduler jobs create http/g)).toHaveLength(4);
    expect(output).not.toMatch(/roles\/(owner|editor)\b/);
  });
});
