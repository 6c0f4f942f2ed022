import type { Request, Response } from '@google-cloud/functions-framework';
import { bearerToken } from '../identity/id-tokens';
import type { Services } from './services';

/**
 * Who is calling: a signed-in user of the task app (a verified Firebase Auth ID token, from
 * `Authorization: Bearer` or, for a top-level form POST, an `idToken` field), or an allowed
 * server-to-server caller (a Google-signed ID token of an allow-listed service account).
 */
export type Caller = { kind: 'user'; uid: string } | { kind: 'server'; email: string };

export async function identifyCaller(req: Request, s: Pick<Services, 'users' | 'serverCallers'>, options: { formToken?: boolean } = {}): Promise<Caller | null> {
  const field = options.formToken === true ? (req.body as { idToken?: unknown } | undefined)?.idToken : undefined;
  const token = bearerToken(req.headers.authorization) ?? (typeof field === 'string' ? bearerToken(`Bearer ${field}`) : null);
  if (token === null) return null;
  const user = await s.users.verify(token);
  if (user) return { kind: 'user', uid: user.uid };
  const server = await s.serverCallers.verify(token);
  return server === null ? null : { kind: 'server', email: server };
}

/**
 * The user a request acts for: a user caller acts for themselves (a differing `userId` is
 * refused); a server caller must name one.
 */
export function actingUser(caller: Caller, named: string | undefined): string | null {
  if (caller.kind === 'user') return named === undefined || named === caller.uid ? caller.uid : null;
  return named ?? null;
}

/** A route of the `connect` function. */
export type Handler = (req: Request, res: Response, s: Services) => Promise<void>;

/**
 * The user a request acts for, or `null` once the request has been answered: 401 without a
 * verified identity, 403 for a user naming someone else or a server naming nobody.
 */
export async function userFor(req: Request, res: Response, s: Pick<Services, 'users' | 'serverCallers'>, named: string | undefined): Promise<string | null> {
  const caller = await identifyCaller(req, s);
  if (!caller) {
    res.status(401).json({ error: 'a verified identity is required (Authorization: Bearer <ID token>)' });
    return null;
  }
  const userId = actingUser(caller, named);
  if (userId === null) res.status(403).json({ error: caller.kind === 'user' ? 'you may act only for yourself' : 'name the user (userId)' });
  return userId;
}
