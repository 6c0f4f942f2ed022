import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { emulatorSignIn } from '../../scripts/lib/demo';
import { startHostPage, type HostPage } from '../../scripts/lib/host-page';
import { launchChromium, resultsDir } from '../support/browser';
import { startEngineStack, type EngineStack } from '../support/engine-stack';

const authHost = process.env.FIREBASE_AUTH_EMULATOR_HOST!;
let hostPage: HostPage;
let stack: EngineStack;
let browser: Browser;

beforeAll(async () => {
  // The page is the connect flow's return URL: it has to exist before the functions' configuration.
  hostPage = await startHostPage();
  stack = await startEngineStack({ env: { FIREBASE_AUTH_EMULATOR_HOST: authHost, FIREBASE_PROJECT_ID: process.env.GOOGLE_CLOUD_PROJECT!, CONNECT_RETURN_URL: hostPage.url } });
  hostPage.configure({
    firebase: { apiKey: 'local', projectId: stack.projectId },
    emulators: { auth: authHost, firestore: process.env.FIRESTORE_EMULATOR_HOST! },
    connectUrl: stack.functionUrl('connect'),
    consentUrl: stack.functionEnv.GOOGLE_OAUTH_AUTH_URL!,
    callbackUrl: stack.config.connect.redirectUrl,
  });
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await hostPage?.close();
}, 300_000);

/**
 * Gmail notifies a mailbox at most once a second: a mail inside that window is announced by
 * the next change, so when the sandbox says it stayed silent, another mail follows at the
 * moment the sandbox says it can notify again.
 */
async function deliverAnnounced(email: string, subject: string): Promise<void> {
  let sent = await stack.admin.deliverMail(email, { subject, from: 'Sender <sender@example.com>' });
  while (!sent.announced) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, sent.notifiableAt! - Date.now())));
    sent = await stack.admin.deliverMail(email, { subject: 'A follow-up', from: 'Sender <sender@example.com>' });
  }
}

// Generous bounds: each wait ends as soon as the page shows the state.
const PAGE_WAIT = { timeout: 60_000 };

test('the host page signs in, connects an account, shows a mail as a task live, then Disconnected with a reconnect prompt after a revocation', async () => {
  const email = 'host-page@example.com';
  await stack.admin.createAccount(email);
  await emulatorSignIn(authHost, email, 'host-password');
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  const response = await page.goto(hostPage.url);
  expect(response!.headers()['content-security-policy']).toMatch(/script-src 'nonce-[^']+'; style-src 'nonce-/);

  await page.fill('#sign-in input[name=email]', email);
  await page.fill('#sign-in input[name=password]', 'host-password');
  await page.click('#sign-in button[type=submit]');
  await page.locator('#connect').waitFor(PAGE_WAIT);
  expect(await page.locator('#user').textContent()).toBe(email);

  // The connect flow: Google's consent (the sandbox's), back to the page, which offers to link.
  await page.fill('#connect input[name=email]', email);
  await page.click('#connect button[type=submit]');
  await page.locator('#confirm:not([hidden])').waitFor(PAGE_WAIT);
  expect(await page.locator('#confirm-email').textContent()).toBe(email);
  expect(new URL(page.url()).hash).toBe('');
  await page.click('#confirm-button');
  const badge = page.locator('.source .badge');
  await page.locator('.source .badge[data-status="active"]').waitFor(PAGE_WAIT);
  expect(await badge.textContent()).toBe('Active');
  expect(await page.locator('.source .email').textContent()).toBe(email);
  expect(await page.locator('.reconnect').count()).toBe(0);

  // A mail becomes a task on the page without a reload.
  const navigations: string[] = [];
  page.on('framenavigated', (frame) => navigations.push(frame.url()));
  const subject = 'Please review the <b>contract</b>';
  await deliverAnnounced(email, subject);
  await page.locator('.task .title', { hasText: subject }).waitFor(PAGE_WAIT);
  expect(await page.locator('.task .title').allTextContents()).toContain(subject);
  expect(await page.locator('.task b').count()).toBe(0);
  await page.screenshot({ path: join(resultsDir(), 'host-page-task.png'), fullPage: true });

  // The user revokes the grant at Google; the next mail's sync finds out.
  await stack.admin.revoke(email);
  await deliverAnnounced(email, 'after the revocation');
  await page.locator('.source .badge[data-status="disconnected"]').waitFor(PAGE_WAIT);
  expect(await badge.textContent()).toBe('Disconnected');
  await page.locator('.reconnect').waitFor(PAGE_WAIT);
  expect(await page.locator('.reconnect').textContent()).toContain(`Reconnect ${email}`);
  expect(await page.locator('.reconnect button').textContent()).toBe('Reconnect');
  expect(navigations).toEqual([]);
  expect(errors).toEqual([]);
  await page.screenshot({ path: join(resultsDir(), 'host-page-disconnected.png'), fullPage: true });
}, 300_000);
