import * as z from 'zod';
import type { Handler, Reply, Request, Router } from './http';
import type { StoredTask, TaskQueues } from './task-queue';

/**
 * Cloud Tasks v2 over REST, the surface `@google-cloud/tasks` speaks with `fallback: true`:
 * create/get queues, create/get tasks. Errors use the gRPC-transcoded envelope
 * `{"error":{"code","message","status"}}` that the client turns into gRPC codes.
 */

const HTTP_METHODS = ['HTTP_METHOD_UNSPECIFIED', 'POST', 'GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;
const TASK_ID = /^[A-Za-z0-9_-]{1,500}$/;
/** Cloud Tasks refuses schedule times more than 30 days ahead. */
const MAX_SCHEDULE_AHEAD_MS = 30 * 24 * 3_600_000;

const taskSchema = z.object({
  name: z.string().optional(),
  scheduleTime: z.iso.datetime({ offset: true }).optional(),
  httpRequest: z.object({
    url: z.url(),
    httpMethod: z.union([z.enum(HTTP_METHODS), z.number().int().min(0).max(7)]).optional(),
    headers: z.record(z.string(), z.string()).optional(),
    body: z.base64().optional(),
    oidcToken: z.object({ serviceAccountEmail: z.email(), audience: z.string().optional() }).optional(),
  }),
});
const createTaskSchema = z.object({ task: taskSchema, responseView: z.union([z.string(), z.number()]).optional() });
const createQueueSchema = z.object({ name: z.string().min(1) });

class TasksError extends Error {
  constructor(
    readonly code: number,
    readonly status: string,
    message: string,
  ) {
    super(message);
  }
  toReply(): Reply {
    return { status: this.code, body: { error: { code: this.code, message: this.message, status: this.status } } };
  }
}

const invalid = (message: string) => new TasksError(400, 'INVALID_ARGUMENT', message);

function guarded(run: (request: Request) => Reply): Handler {
  return (request) => {
    try {
      if (!/^Bearer\s+\S+/i.test(String(request.headers.authorization ?? ''))) {
        throw new TasksError(401, 'UNAUTHENTICATED', 'Request is missing required authentication credential.');
      }
      return run(request);
    } catch (error) {
      if (error instanceof TasksError) return error.toReply();
      throw error;
    }
  };
}

function queueName(params: Record<string, string>): string {
  return `projects/${params.project}/locations/${params.location}/queues/${params.queue}`;
}

function taskResource(task: StoredTask) {
  return {
    name: task.name,
    httpRequest: {
      url: task.target.url,
      httpMethod: task.target.httpMethod,
      headers: task.target.headers,
      ...(task.target.oidc && { oidcToken: task.target.oidc }),
    },
    scheduleTime: new Date(task.scheduleTime).toISOString(),
    createTime: new Date(task.createTime).toISOString(),
    dispatchDeadline: '600s',
    dispatchCount: task.dispatchCount,
    responseCount: task.responseCount,
    view: 'BASIC',
  };
}

function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value ?? {});
  if (!parsed.success) throw invalid(z.prettifyError(parsed.error));
  return parsed.data;
}

export function registerTasks(router: Router, queues: TaskQueues, now: () => number): void {
  const base = '/v2/projects/:project/locations/:location/queues';
  router.on(
    'POST',
    '/v2/projects/:project/locations/:location/queues',
    guarded((request) => {
      const { name } = parse(createQueueSchema, request.body);
      if (!name.startsWith(`projects/${request.params.project}/locations/${request.params.location}/queues/`)) throw invalid(`Invalid queue name: ${name}`);
      if (queues.queues.has(name)) throw new TasksError(409, 'ALREADY_EXISTS', 'Queue already exists');
      queues.queues.add(name);
      return { status: 200, body: { name, state: 'RUNNING' } };
    }),
  );
  router.on(
    'GET',
    `${base}/:queue`,
    guarded((request) => {
      const name = queueName(request.params);
      if (!queues.queues.has(name)) throw new TasksError(404, 'NOT_FOUND', 'Requested entity was not found.');
      return { status: 200, body: { name, state: 'RUNNING' } };
    }),
  );
  router.on(
    'POST',
    `${base}/:queue/tasks`,
    guarded((request) => {
      const queue = queueName(request.params);
      if (!queues.queues.has(queue)) throw new TasksError(404, 'NOT_FOUND', 'Requested entity was not found.');
      const { task } = parse(createTaskSchema, request.body);
      const at = now();
      const name = task.name ?? `${queue}/tasks/${Math.floor(Math.random() * 1e18).toString()}`;
      const prefix = `${queue}/tasks/`;
      if (!name.startsWith(prefix) || !TASK_ID.test(name.slice(prefix.length))) throw invalid(`Invalid task name: ${name}`);
      const scheduleTime = task.scheduleTime === undefined ? at : Date.parse(task.scheduleTime);
      if (scheduleTime > at + MAX_SCHEDULE_AHEAD_MS) throw invalid('scheduleTime is too far in the future');
      if (queues.has(name)) {
        queues.stats.duplicates += 1;
        throw new TasksError(409, 'ALREADY_EXISTS', 'Requested entity already exists');
      }
      const { url, httpMethod, headers = {}, body, oidcToken } = task.httpRequest;
      const method = (typeof httpMethod === 'number' ? HTTP_METHODS[httpMethod] : httpMethod) ?? 'POST';
      const stored: StoredTask = {
        name,
        scheduleTime,
        createTime: at,
        target: {
          url,
          httpMethod: method === 'HTTP_METHOD_UNSPECIFIED' ? 'POST' : method,
          headers,
          body: body === undefined ? null : Buffer.from(body, 'base64'),
          oidc: oidcToken ? { serviceAccountEmail: oidcToken.serviceAccountEmail, audience: oidcToken.audience ?? url } : null,
        },
        dispatchCount: 0,
        responseCount: 0,
        lastResponseStatus: null,
      };
      queues.add(stored);
      return { status: 200, body: taskResource(stored) };
    }),
  );
  router.on(
    'GET',
    `${base}/:queue/tasks/:task`,
    guarded((request) => {
      const task = queues.get(`${queueName(request.params)}/tasks/${request.params.task}`);
      if (!task) throw new TasksError(404, 'NOT_FOUND', 'Requested entity was not found.');
      return { status: 200, body: taskResource(task) };
    }),
  );
}
