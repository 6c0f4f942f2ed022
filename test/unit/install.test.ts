import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `npm ci` compiles nothing: every dependency with an install script is reviewed in
 * package.json's `allowScripts`, and re2 (superstatic's optional native regex binding, through
 * firebase-tools) is denied, since superstatic has a JavaScript path without it.
 */

const root = join(__dirname, '../..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { hasInstallScript?: boolean }> };

function packageName(lockPath: string): string {
  return lockPath.slice(lockPath.lastIndexOf('node_modules/') + 'node_modules/'.length);
}

describe('the install', () => {
  it('has a reviewed decision for every dependency that brings an install script', () => {
    const withScripts = Object.entries(lock.packages)
      .filter(([path, entry]) => entry.hasInstallScript === true && path.includes('node_modules/'))
      .map(([path]) => packageName(path));
    expect(withScripts).toContain('re2');
    expect(withScripts.filter((name) => manifest.allowScripts?.[name] === undefined)).toEqual([]);
    expect(manifest.allowScripts?.re2).toBe(false);
  });

  it('leaves re2 unbuilt, and superstatic matches with JavaScript RegExp', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const patterns = require('superstatic/lib/utils/patterns') as { re2Available(): boolean; configMatcher(path: string, config: { regex: string }): boolean };
    expect(patterns.re2Available()).toBe(false);
    expect(patterns.configMatcher('/calendar/push', { regex: '^/calendar/.+$' })).toBe(true);
    expect(patterns.configMatcher('/gmail/push', { regex: '^/calendar/.+$' })).toBe(false);
  });
});
