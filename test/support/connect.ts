import { connectThroughFlow, firebaseIdToken, type ConnectWalk, type WalkOptions } from '../../scripts/lib/connect-client';
import type { EngineStack } from './engine-stack';

/** A signed-in user's ID token on a test stack (RS256, the sandbox's published key). */
export function idTokenFor(stack: EngineStack, userId: string, overrides: Record<string, unknown> = {}): Promise<string> {
  return firebaseIdToken(stack.sandbox.url, stack.projectId, userId, overrides);
}

/** The connect flow against a test stack's `connect` function, as `userId` (see connectThroughFlow). */
export async function walkConnect(stack: EngineStack, userId: string, email: string, options: WalkOptions = {}): Promise<ConnectWalk> {
  return connectThroughFlow(stack.functionUrl('connect'), await idTokenFor(stack, userId), email, options);
}

/** A JSON call to a connect route as `userId`. */
export async function asUser(stack: EngineStack, userId: string, route: string, init: { method?: string; body?: unknown } = {}): Promise<Response> {
  return fetch(`${stack.functionUrl('connect')}/${route}`, {
    method: init.method ?? 'GET',
    headers: { Authorization: `Bearer ${await idTokenFor(stack, userId)}`, 'Content-Type': 'application/json' },
    ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
  });
}
