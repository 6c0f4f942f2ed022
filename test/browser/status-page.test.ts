import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium, resultsDir } from '../support/browser';
import { MovableClock } from '../support/clock';
import { emulatorSignIn } from '../../scripts/lib/demo';
import { registerWatch, runJob, startEngineStack, type EngineStack } from '../support/engine-stack';
import { waitFor } from '../support/wait';

const clock = new MovableClock();
let stack: EngineStack;
let browser: Browser;

beforeAll(async () => {
  // The page signs in on the Firebase Auth emulator that scripts/test.ts started.
  stack = await startEngineStack({ overrides: { clock }, env: { FIREBASE_AUTH_EMULATOR_HOST: process.env.FIREBASE_AUTH_EMULATOR_HOST!, FIREBASE_PROJECT_ID: process.env.GOOGLE_CLOUD_PROJECT! } });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

test('the status page signs in, shows Active, then the polling banner without a reload, then Disconnected', async () => {
  const email = 'page@example.com';
  const { uid } = await emulatorSignIn(process.env.FIREBASE_AUTH_EMULATOR_HOST!, email, 'page-password');
  await stack.connect('src-page', email, uid);
  await stack.connect('src-someone-else', 'else@example.com', 'user-else');
  expect((await registerWatch(stack, 'src-page')).status).toBe(200);
  await waitFor(async () => (await stack.services.sources.get('src-page'))!.lastPushAt !== null);

  const page = await browser.newPage();
  // A user id in the URL buys nothing: the page shows nothing until its user signs in.
  await page.goto(`${stack.functionUrl('sourceStatus')}/?userId=user-else`);
  await page.locator('#sign-in').waitFor();
  expect(await page.locator('.source').count()).toBe(0);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', 'page-password');
  await page.click('button[type=submit]');
  const badge = page.locator('[data-source-id="src-page"] .badge');
  await badge.waitFor({ timeout: 15_000 });
  expect(await page.locator('.source').count()).toBe(1);
  expect(await badge.textContent()).toBe('Active');
  expect(await page.locator('.email').textContent()).toBe(email);
  expect(await page.locator('.banner').count()).toBe(0);

  // The sandbox stops delivering pushes; mail arrives; a poll finds it.
  await stack.admin.setFaults({ push: { dropRate: 1 } });
  await new Promise((r) => setTimeout(r, 1100));
  await stack.admin.deliverMail(email, { subject: 'only a poll will see this' });
  clock.advance(11 * 60_000);
  await runJob(stack, 'fallbackPoll');
  await stack.settled('src-page');
  const navigations: string[] = [];
  page.on('framenavigated', (frame) => navigations.push(frame.url()));
  await page.locator('.banner').waitFor({ timeout: 15_000 });
  expect(await page.locator('.banner').textContent()).toContain('Falling back to polling');
  expect(await badge.textContent()).toBe('Degraded');
  expect(navigations).toEqual([]);
  await page.screenshot({ path: join(resultsDir(), 'status-page-polling.png'), fullPage: true });

  // The user revokes access; the next sync finds out.
  await stack.admin.revoke(email);
  clock.advance(11 * 60_000);
  await runJob(stack, 'fallbackPoll');
  await waitFor(async () => (await stack.services.sources.get('src-page'))!.status === 'disconnected');
  await page.locator('[data-status="disconnected"]').waitFor({ timeout: 15_000 });
  expect(await badge.textContent()).toBe('Disconnected');
  expect(await page.locator('.reason').textContent()).toMatch(/revoked/);
  expect(navigations).toEqual([]);
  await page.screenshot({ path: join(resultsDir(), 'status-page-disconnected.png'), fullPage: true });
  await stack.admin.setFaults({});
});
