import { randomBytes } from 'node:crypto';
import { UNAUTHENTICATED_ACCOUNT } from './api-call';
import { errors } from './google-errors';
import type { Reply, Request, Router } from './http';
import type { World } from './world';

/**
 * Gmail's batch endpoint, POST /batch/gmail/v1: a multipart/mixed body whose parts are
 * `application/http` requests, answered by a multipart/mixed body of `application/http`
 * responses in the same order, each with its own status line. Every part is an API call of
 * its own (authenticated with the outer request's token, counted and charged against the
 * user's quota, subject to injected faults, run concurrently with the others); the envelope
 * is one HTTP request.
 */

/** Counted per account next to the methods: batch envelopes, and the parts they carried. */
export const BATCH_REQUESTS = 'gmail.batch';
export const BATCH_PARTS = 'gmail.batch.parts';
/** Google refuses batches of more than 100 parts. */
const MAX_PARTS = 100;
const REASONS: Record<number, string> = { 200: 'OK', 204: 'No Content', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable' };

interface Part {
  contentId: string | null;
  method: string;
  target: string;
  headers: Record<string, string>;
}

function boundaryOf(contentType: string | undefined): string | null {
  const match = /^multipart\/mixed\s*;.*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  return match ? (match[1] ?? match[2] ?? null) : null;
}

function headerBlock(lines: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** Splits the body into parts; a part that is not an application/http request is a 400. */
export function parseBatch(body: string, boundary: string): Part[] {
  const chunks = body.split(`--${boundary}`).slice(1);
  const parts: Part[] = [];
  for (const chunk of chunks) {
    if (chunk.startsWith('--')) break;
    const [outer, inner] = splitOnce(chunk.replace(/^\r?\n/, ''));
    const outerHeaders = headerBlock(outer.split(/\r?\n/));
    if (!outerHeaders['content-type']?.startsWith('application/http')) throw errors.badRequest('Each part must have Content-Type: application/http');
    const [requestLine = '', ...rest] = splitOnce(inner)[0].split(/\r?\n/);
    const match = /^([A-Z]+)\s+(\S+)(?:\s+HTTP\/\d\.\d)?$/.exec(requestLine.trim());
    if (!match) throw errors.badRequest('Each part must start with a request line');
    parts.push({ contentId: outerHeaders['content-id'] ?? null, method: match[1]!, target: match[2]!, headers: headerBlock(rest) });
  }
  return parts;
}

function splitOnce(text: string): [string, string] {
  const match = /\r?\n\r?\n/.exec(text);
  return match ? [text.slice(0, match.index), text.slice(match.index + match[0].length)] : [text, ''];
}

function responsePart(part: Part, reply: Reply): string {
  const body = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
  const contentId = part.contentId === null ? '' : `Content-ID: ${part.contentId.replace(/^<(?!response-)/, '<response-')}\r\n`;
  const extra = Object.entries(reply.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return (
    `Content-Type: application/http\r\n${contentId}\r\n` +
    `HTTP/1.1 ${reply.status} ${REASONS[reply.status] ?? ''}\r\n${extra}Content-Type: application/json; charset=UTF-8\r\n\r\n${body}\r\n`
  );
}

export function registerBatch(router: Router, world: World): void {
  router.on('POST', '/batch/gmail/v1', async (request: Request): Promise<Reply> => {
    const boundary = boundaryOf(request.headers['content-type']);
    if (boundary === null) return errors.badRequest('Batch requests must be multipart/mixed with a boundary').toReply();
    let parts: Part[];
    try {
      parts = parseBatch(request.rawBody, boundary);
    } catch (error) {
      if (error instanceof Error && 'toReply' in error) return (error as unknown as { toReply(): Reply }).toReply();
      throw error;
    }
    if (parts.length === 0) return errors.badRequest('A batch needs at least one part').toReply();
    if (parts.length > MAX_PARTS) return errors.badRequest(`Exceeded maximum batch size of ${MAX_PARTS}`).toReply();
    const grant = world.oauth.authenticate(/^Bearer\s+(\S+)$/i.exec(String(request.headers.authorization ?? ''))?.[1], world.clock.now());
    const account = grant?.email ?? UNAUTHENTICATED_ACCOUNT;
    world.usage.count(account, BATCH_REQUESTS);
    world.usage.count(account, BATCH_PARTS, parts.length);

    // Parts run at once, as separate requests would: Google unwraps a batch into its calls,
    // and large batches are refused part by part with "Too many concurrent requests for user"
    // (its per-user concurrency limit, whose figure Google does not document and this sandbox
    // does not model). Replies keep the parts' order.
    const replies = await Promise.all(parts.map((part) => answered(part, () => dispatch(router, request, part), world)));
    const out = `batch_${randomBytes(12).toString('hex')}`;
    const body = replies.map((r) => `--${out}\r\n${r}`).join('') + `--${out}--\r\n`;
    return { status: 200, body, headers: { 'Content-Type': `multipart/mixed; boundary=${out}` } };
  });
}

async function answered(part: Part, answer: () => Promise<Reply>, world: World): Promise<string> {
  const finished = world.usage.batchPartStarted();
  try {
    return responsePart(part, await answer());
  } finally {
    finished();
  }
}

async function dispatch(router: Router, outer: Request, part: Part): Promise<Reply> {
  const url = new URL(part.target, 'http://sandbox.local');
  if (!url.pathname.startsWith('/gmail/v1/')) return errors.badRequest(`Only Gmail requests may be batched here: ${url.pathname}`).toReply();
  const match = router.match(part.method, url.pathname);
  if (match === null || match === 'method') return errors.notFound().toReply();
  const authorization = part.headers.authorization ?? outer.headers.authorization;
  return match.handler({
    method: part.method,
    path: url.pathname,
    query: url.searchParams,
    headers: { ...(authorization !== undefined && { authorization }) },
    params: match.params,
    body: undefined,
    rawBody: '',
  });
}
