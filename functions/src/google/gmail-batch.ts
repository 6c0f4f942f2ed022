import { randomBytes } from 'node:crypto';
import type { OAuth2Client } from 'google-auth-library';
import type { gmail_v1 } from '@googleapis/gmail';
import type { GoogleError } from '../engine/errors';
import type { GmailMessageMetadata } from '../engine/gmail/ports';
import { classifyGoogleError } from './classify';
import type { LimitedCall } from './limited-call';

/**
 * messages.get for many messages in one HTTP request: Gmail's batch endpoint
 * (`POST /batch/gmail/v1`, multipart/mixed, one `application/http` part per message,
 * answered part by part with its own status). The Node client has no batch helper, so the
 * body is built here and sent with the account's OAuth client. A batch is one request for
 * the limiter; each part costs its own quota units. Parts that fail transiently are asked
 * again in the next batch; a 404 part means the message is gone (`null`).
 */

/** Google accepts 100 parts and discourages more than 50. */
export const MAX_BATCH_PARTS = 50;
/** Rounds for parts that keep failing transiently before the pass gives up (and is retried). */
const MAX_ROUNDS = 5;

type Metadata = (id: string, data: gmail_v1.Schema$Message) => GmailMessageMetadata;

interface PartResult {
  status: number;
  headers: Record<string, string>;
  data: unknown;
}

export class GmailBatch {
  constructor(
    private readonly auth: OAuth2Client,
    private readonly rootUrl: string,
    private readonly call: LimitedCall,
    private readonly metadataHeaders: readonly string[],
    private readonly toMetadata: Metadata,
    /** Gmail quota units one messages.get costs (each part is charged as one). */
    private readonly unitsPerGet: number,
  ) {}

  async getMessagesMetadata(ids: readonly string[]): Promise<Map<string, GmailMessageMetadata | null>> {
    const result = new Map<string, GmailMessageMetadata | null>();
    const unique = [...new Set(ids)];
    for (let i = 0; i < unique.length; i += MAX_BATCH_PARTS) {
      let left = unique.slice(i, i + MAX_BATCH_PARTS);
      for (let round = 1; left.length > 0; round += 1) {
        const { failed, error } = await this.call('gmail.batch', () => this.round(left, result), left.length * this.unitsPerGet);
        if (failed.length > 0 && round >= MAX_ROUNDS) throw error ?? missingParts();
        left = failed;
      }
    }
    return result;
  }

  /**
   * One batch request. Parts that failed transiently come back as `failed`; when every part
   * failed so, the round throws, and the limiter backs off before the next.
   */
  private async round(ids: string[], into: Map<string, GmailMessageMetadata | null>): Promise<{ failed: string[]; error: GoogleError | undefined }> {
    const parts = await this.send(ids);
    const failed: string[] = [];
    let firstError: GoogleError | undefined;
    ids.forEach((id, index) => {
      const part = parts.get(index);
      if (part === undefined) {
        failed.push(id);
        return;
      }
      if (part.status >= 200 && part.status < 300) {
        into.set(id, this.toMetadata(id, part.data as gmail_v1.Schema$Message));
        return;
      }
      const error = classifyGoogleError({ response: part }, 'gmail.messages.get');
      if (error.kind === 'not-found') into.set(id, null);
      else if (error.transient) {
        failed.push(id);
        firstError ??= error;
      } else throw error;
    });
    if (failed.length === ids.length) throw firstError ?? missingParts();
    return { failed, error: firstError };
  }

  private async send(ids: string[]): Promise<Map<number, PartResult>> {
    const boundary = `batch_${randomBytes(12).toString('hex')}`;
    const query = ['format=metadata', ...this.metadataHeaders.map((h) => `metadataHeaders=${encodeURIComponent(h)}`)].join('&');
    const body =
      ids
        .map(
          (id, index) =>
            `--${boundary}\r\nContent-Type: application/http\r\nContent-ID: <item-${index}>\r\n\r\n` +
            `GET /gmail/v1/users/me/messages/${encodeURIComponent(id)}?${query}\r\n\r\n`,
        )
        .join('') + `--${boundary}--\r\n`;
    const response = await this.auth.request<string>({
      url: `${this.rootUrl}batch/gmail/v1`,
      method: 'POST',
      headers: { 'Content-Type': `multipart/mixed; boundary=${boundary}` },
      data: body,
      responseType: 'text',
    });
    const headers = response.headers as unknown as { get?(name: string): string | null } & Record<string, string>;
    const contentType = typeof headers.get === 'function' ? headers.get('content-type') : headers['content-type'];
    return parseBatchResponse(String(response.data), contentType ?? '');
  }
}

/** A batch response without some of its parts: like no response, worth retrying. */
function missingParts(): GoogleError {
  return classifyGoogleError({ message: 'the batch response lacked parts' }, 'gmail.batch');
}

/** The parts of a multipart/mixed batch response, by the index in their Content-ID. */
export function parseBatchResponse(body: string, contentType: string): Map<number, PartResult> {
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const marker = boundary?.[1] ?? boundary?.[2];
  const parts = new Map<number, PartResult>();
  if (!marker) return parts;
  for (const chunk of body.split(`--${marker}`).slice(1)) {
    if (chunk.startsWith('--')) break;
    const [outer, http] = splitBlock(chunk.replace(/^\r?\n/, ''));
    const index = /Content-ID:\s*<response-item-(\d+)>/i.exec(outer)?.[1];
    const [head, payload] = splitBlock(http);
    const [statusLine = '', ...headerLines] = head.split(/\r?\n/);
    const status = Number(/^HTTP\/\d\.\d\s+(\d{3})/.exec(statusLine)?.[1]);
    if (index === undefined || Number.isNaN(status)) continue;
    const headers = Object.fromEntries(
      headerLines.filter((l) => l.includes(':')).map((l) => [l.slice(0, l.indexOf(':')).trim().toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
    );
    parts.set(Number(index), { status, headers, data: parseJson(payload.trim()) });
  }
  return parts;
}

function splitBlock(text: string): [string, string] {
  const match = /\r?\n\r?\n/.exec(text);
  return match ? [text.slice(0, match.index), text.slice(match.index + match[0].length)] : [text, ''];
}

function parseJson(text: string): unknown {
  try {
    return text === '' ? null : (JSON.parse(text) as unknown);
  } catch {
    return null;
  }
}
