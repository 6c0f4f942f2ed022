import { parseArgs } from 'node:util';
import * as z from 'zod';
import type { ReplayOptions } from './replay';

/** `--project P --subscription S [--dry-run] [--limit N]`, every problem reported at once. */

export const REPLAY_USAGE = 'usage: npm run replay -- --project PROJECT --subscription SUBSCRIPTION [--dry-run] [--limit N]';

const projectSchema = z.string({ error: '--project is required' }).regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, '--project must be a Google Cloud project id (6–30 lowercase letters, digits, hyphens)');
const subscriptionName = /^[A-Za-z][A-Za-z0-9._~+%-]{2,254}$/;

export class ReplayArgsError extends Error {
  constructor(readonly problems: string[]) {
    super(`${problems.join('\n')}\n${REPLAY_USAGE}`);
    this.name = 'ReplayArgsError';
  }
}

export function parseReplayArgs(argv: string[]): ReplayOptions & { project: string } {
  let values: { project?: string; subscription?: string; 'dry-run'?: boolean; limit?: string };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { project: { type: 'string' }, subscription: { type: 'string' }, 'dry-run': { type: 'boolean', default: false }, limit: { type: 'string', default: '1000' } },
    }));
  } catch (error) {
    throw new ReplayArgsError([error instanceof Error ? error.message : String(error)]);
  }
  const problems: string[] = [];
  const project = projectSchema.safeParse(values.project);
  if (!project.success) problems.push(project.error.issues[0]!.message);
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) problems.push(`--limit must be a positive whole number, got "${values.limit}"`);
  const raw = values.subscription ?? '';
  const path = /^projects\/([^/]+)\/subscriptions\/([^/]+)$/.exec(raw);
  const name = path ? path[2]! : raw;
  if (raw === '') problems.push('--subscription is required (the dead-letter topic\'s subscription, a name or projects/P/subscriptions/S)');
  else if (!subscriptionName.test(name)) problems.push(`--subscription "${raw}" is not a valid subscription name`);
  else if (path && project.success && path[1] !== project.data) problems.push(`--subscription belongs to project ${path[1]}, not --project ${project.data}`);
  if (problems.length > 0 || !project.success) throw new ReplayArgsError(problems);
  return { project: project.data, subscription: `projects/${project.data}/subscriptions/${name}`, dryRun: values['dry-run'] ?? false, limit };
}
