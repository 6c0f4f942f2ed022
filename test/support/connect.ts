import type { EngineStack } from './engine-stack';

/**
 * Walks the connect flow as a browser would: start → Google's consent (the sandbox
 * auto-approves `loginHint`) → callback. Returns every hop so tests can replay or forge them.
 */
export async function walkConnect(stack: EngineStack, userId: string, email: string) {
  const start = await fetch(`${stack.functionUrl('connect')}/start?userId=${encodeURIComponent(userId)}&loginHint=${encodeURIComponent(email)}`, { redirect: 'manual' });
  if (start.status !== 302) throw new Error(`start answered ${start.status}: ${await start.text()}`);
  const consentUrl = new URL(start.headers.get('location')!);
  const consent = await fetch(consentUrl, { redirect: 'manual' });
  if (consent.status !== 302) throw new Error(`consent answered ${consent.status}: ${await consent.text()}`);
  const callbackUrl = consent.headers.get('location')!;
  const callback = await fetch(callbackUrl, { redirect: 'manual' });
  return { consentUrl, callbackUrl, callback, location: callback.headers.get('location') };
}
