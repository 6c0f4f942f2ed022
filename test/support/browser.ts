import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Debian's Chromium when installed, else the Chromium that ships inside the
 * `@sparticuz/chromium` package (unpacked to /tmp on first use, nothing downloaded). That
 * package is ESM-only, which jest's CommonJS runtime cannot load, so a child Node resolves it.
 */
function chromiumPath(): string {
  if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH;
  const script = "import c from '@sparticuz/chromium'; process.stdout.write(await c.executablePath());";
  return execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).trim();
}

/** Headless Chromium with no background traffic (the machine has no internet). */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

export function resultsDir(): string {
  const dir = 'test-results';
  mkdirSync(dir, { recursive: true });
  return dir;
}
