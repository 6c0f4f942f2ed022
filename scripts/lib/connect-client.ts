/**
 * Connects a sandbox account through the real connect flow, as a browser would: start →
 * Google's consent page (the sandbox auto-approves `loginHint`) → callback.
 */
export interface ConnectWalk {
  consentUrl: URL;
  callbackUrl: string;
  callback: Response;
  location: string | null;
}

export async function connectThroughFlow(connectUrl: string, userId: string, email: string): Promise<ConnectWalk> {
  const startUrl = `${connectUrl}/start?userId=${encodeURIComponent(userId)}&loginHint=${encodeURIComponent(email)}`;
  const start = await fetch(startUrl, { redirect: 'manual' });
  if (start.status !== 302) throw new Error(`connect/start answered ${start.status}: ${await start.text()}`);
  const consentUrl = new URL(start.headers.get('location')!);
  const consent = await fetch(consentUrl, { redirect: 'manual' });
  if (consent.status !== 302) throw new Error(`the consent page answered ${consent.status}: ${await consent.text()}`);
  const callbackUrl = consent.headers.get('location')!;
  const callback = await fetch(callbackUrl, { redirect: 'manual' });
  return { consentUrl, callbackUrl, callback, location: callback.headers.get('location') };
}
