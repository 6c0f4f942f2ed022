import * as z from 'zod';

/**
 * The connect function's routes, as a host app calls them with its signed-in user's Firebase
 * ID token: starting a connection (a browser form post to Google's consent), reading and
 * confirming the staged grant the return URL names, disconnecting, and listing sources.
 */
export interface ConnectClientOptions {
  /** The connect function's address (`https://REGION-PROJECT.cloudfunctions.net/connect`). */
  connectUrl: string;
  /** The signed-in user's Firebase ID token (fresh: `user.getIdToken()`). */
  idToken: () => Promise<string>;
  fetch?: typeof fetch;
}

const sourceSchema = z.object({ sourceId: z.string(), email: z.string(), status: z.enum(['active', 'degraded', 'disconnected']), mine: z.boolean(), createdAt: z.string() });
const confirmedSchema = z.object({ sourceId: z.string(), email: z.string(), status: z.enum(['active', 'degraded', 'disconnected']) });
const disconnectedSchema = z.object({ sourceId: z.string(), status: z.string(), revoked: z.boolean() });
export type ConnectedSource = z.infer<typeof sourceSchema>;

export class ConnectError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ConnectError';
  }
}

/** What the return URL's fragment says after Google: `confirm` with a link, or `denied`. */
export function connectOutcome(hash: string): { status: 'confirm'; link: string } | { status: 'denied' } | null {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const link = params.get('link');
  if (params.get('status') === 'confirm' && link) return { status: 'confirm', link };
  return params.get('status') === 'denied' ? { status: 'denied' } : null;
}

export class ConnectClient {
  private readonly fetch: typeof fetch;

  constructor(private readonly options: ConnectClientOptions) {
    this.fetch = options.fetch ?? ((...args) => fetch(...args));
  }

  /** The form a browser posts to start: navigate by submitting it (`startInBrowser` does). */
  async startForm(loginHint?: string): Promise<{ action: string; fields: Record<string, string> }> {
    return { action: `${this.options.connectUrl}/start`, fields: { idToken: await this.options.idToken(), ...(loginHint && { loginHint }) } };
  }

  /** Posts the start form from this page: the browser leaves for Google's consent. */
  async startInBrowser(document: Document, loginHint?: string): Promise<void> {
    const { action, fields } = await this.startForm(loginHint);
    const form = document.createElement('form');
    form.method = 'POST';
    form.action = action;
    for (const [name, value] of Object.entries(fields)) {
      const input = document.createElement('input');
      Object.assign(input, { type: 'hidden', name, value });
      form.append(input);
    }
    document.body.append(form);
    form.submit();
  }

  /** The Google account a staged grant would connect, to show before confirming. */
  async link(link: string): Promise<{ email: string }> {
    return z.object({ email: z.string() }).parse(await this.call('POST', 'link', { link }));
  }

  async confirm(link: string): Promise<z.infer<typeof confirmedSchema>> {
    return confirmedSchema.parse(await this.call('POST', 'confirm', { link }));
  }

  async disconnect(sourceId: string): Promise<z.infer<typeof disconnectedSchema>> {
    return disconnectedSchema.parse(await this.call('POST', 'disconnect', { sourceId }));
  }

  async sources(): Promise<ConnectedSource[]> {
    return z.object({ sources: z.array(sourceSchema) }).parse(await this.call('GET', 'sources')).sources;
  }

  private async call(method: 'GET' | 'POST', route: string, body?: unknown): Promise<unknown> {
    const response = await this.fetch(`${this.options.connectUrl}/${route}`, {
      method,
      headers: { Authorization: `Bearer ${await this.options.idToken()}`, ...(body !== undefined && { 'Content-Type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const json: unknown = await response.json().catch(() => ({}));
    if (!response.ok) throw new ConnectError(response.status, (json as { error?: string }).error ?? `${route} answered ${response.status}`);
    return json;
  }
}
