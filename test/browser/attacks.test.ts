import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { emulatorSignIn } from '../../scripts/lib/demo';
import { launchChromium } from '../support/browser';
import { startEngineStack, type EngineStack } from '../support/engine-stack';

/**
 * Attacks a browser decides, in headless Chromium: a lure path that would make the status
 * page send its ID token elsewhere, hostile values in the data it renders, and another site
 * posting `connect/start` into a victim's browser.
 */

let stack: EngineStack;
let browser: Browser;
/** One server, two origins: http://127.0.0.1:P (the app, allowed to start) and http://localhost:P (another site). */
let sites: Server;
let sitesPort: number;
const seen: { url: string; authorization: string | undefined }[] = [];

function site(req: IncomingMessage): { status: number; type: string; body: string } {
  seen.push({ url: req.url ?? '', authorization: req.headers.authorization });
  if (req.url?.startsWith('/start-form')) {
    const { connect, idToken } = Object.fromEntries(new URL(req.url, 'http://x').searchParams) as { connect: string; idToken: string };
    const body = `<form method="POST" action="${connect}/start"><input type="hidden" name="idToken" value="${idToken}"></form><script>document.forms[0].submit()</script>`;
    return { status: 200, type: 'text/html', body };
  }
  // Anything else: JSON an attacker would like the status page to render.
  return { status: 200, type: 'application/json', body: JSON.stringify({ now: new Date().toISOString(), sources: [] }) };
}

beforeAll(async () => {
  sites = createServer((req, res) => {
    const answer = site(req);
    res.writeHead(answer.status, { 'Content-Type': answer.type, 'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Headers': 'authorization, accept' }).end(answer.body);
  });
  await new Promise<void>((resolve) => sites.listen(0, '127.0.0.1', resolve));
  sitesPort = (sites.address() as AddressInfo).port;
  stack = await startEngineStack({
    env: {
      FIREBASE_AUTH_EMULATOR_HOST: process.env.FIREBASE_AUTH_EMULATOR_HOST!,
      FIREBASE_PROJECT_ID: process.env.GOOGLE_CLOUD_PROJECT!,
      CONNECT_ALLOWED_ORIGINS: `http://127.0.0.1:${sitesPort}`,
    },
  });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
  sites.closeAllConnections();
  await new Promise((resolve) => sites.close(resolve));
});

async function signIn(page: import('playwright-core').Page, email: string): Promise<void> {
  await emulatorSignIn(process.env.FIREBASE_AUTH_EMULATOR_HOST!, email, 'attack-password');
  await page.locator('#sign-in').waitFor();
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', 'attack-password');
  await page.click('button[type=submit]');
}

test('the status page is served at its root only: a lure path gets no page that could poll another host', async () => {
  const page = await browser.newPage();
  // Served at the function's root, //host/x would be a scheme-relative URL to that host.
  for (const lure of [`//127.0.0.1:${sitesPort}/x`, `//localhost:${sitesPort}/`, '/anything']) {
    const response = await page.goto(`${stack.functionUrl('sourceStatus')}${lure}`);
    expect(response?.status()).toBe(404);
    expect(await page.locator('#sign-in').count()).toBe(0);
  }
  // The page itself polls its own origin and nothing else.
  await page.goto(`${stack.functionUrl('sourceStatus')}/`);
  await signIn(page, 'lure@example.com');
  await page.locator('#sources p').waitFor();
  expect(seen.filter((r) => r.authorization !== undefined)).toEqual([]);
  await page.close();
});

test('the status page renders hostile values as text, under a nonce CSP that forbids framing', async () => {
  const page = await browser.newPage();
  const hostile = '<img src=x onerror="window.__pwned=1">';
  await page.route(
    (url) => url.href.startsWith(stack.functionUrl('sourceStatus')),
    async (route) => {
      if (route.request().resourceType() !== 'fetch') return route.continue();
      const source = { sourceId: `"><img src=x onerror="window.__pwned=2">`, email: hostile, status: hostile, polling: true, lastSyncAt: null, lastAuditAt: hostile, reason: hostile, calendars: [{ calendarId: hostile, state: hostile }], calendarListChannel: { state: hostile, channelExpiration: hostile } };
      return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ now: new Date().toISOString(), sources: [source] }) });
    },
  );
  const response = await page.goto(`${stack.functionUrl('sourceStatus')}/`);
  await signIn(page, 'hostile@example.com');
  await page.locator('.source .email').waitFor();
  expect(await page.locator('.source .email').textContent()).toBe(hostile);
  expect(await page.locator('.banner').textContent()).toContain(hostile);
  expect(await page.locator('.source .calendar-list').textContent()).toBe(`calendar list: ${hostile}`);
  expect(await page.locator('#sources img, #banner img').count()).toBe(0);
  const headers = response!.headers();
  expect(headers['content-security-policy']).toMatch(/script-src 'nonce-[A-Za-z0-9+/=]{24}'/);
  expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
  expect(headers['content-security-policy']).toMatch(/connect-src 'self' http:\/\/127\.0\.0\.1:\d+ http:\/\/127\.0\.0\.1:\d+(;|$)/);
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['referrer-policy']).toBe('no-referrer');
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  await page.close();
});

test('connect/start refuses a form another site posts into the browser, and takes the allowed app', async () => {
  const { idToken } = await emulatorSignIn(process.env.FIREBASE_AUTH_EMULATOR_HOST!, 'attacker@example.com', 'attack-password');
  const page = await browser.newPage();
  const formAt = (host: string) => `http://${host}:${sitesPort}/start-form?connect=${encodeURIComponent(stack.functionUrl('connect'))}&idToken=${idToken}`;
  for (const [host, expected] of [['localhost', 403], ['127.0.0.1', 303]] as const) {
    const started = page.waitForResponse((r) => r.url().endsWith('/start'));
    await page.goto(formAt(host));
    const response = await started;
    expect([host, response.status()]).toEqual([host, expected]);
    const setCookie = await response.headerValue('set-cookie');
    expect(setCookie === null).toBe(expected === 403);
  }
  await page.close();
});
