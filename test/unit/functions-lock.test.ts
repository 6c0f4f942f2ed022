import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dependencyGraph, deriveFunctionsLock, readJson, type Lockfile } from '../../scripts/deploy/functions-lock';

/** The uploaded functions/ package installs from its own lockfile: the versions the tests ran on. */

const root = readJson<Lockfile>('package-lock.json');
const functionsLock = readJson<Lockfile>('functions/package-lock.json');
const functionsPackage = readJson<{ name: string; version: string; dependencies: Record<string, string> }>('functions/package.json');

describe('functions/package-lock.json', () => {
  it('resolves every package to the version the root lockfile gives the functions workspace', () => {
    const deployed = dependencyGraph(functionsLock, '');
    const tested = dependencyGraph(root, 'functions');
    expect(deployed.length).toBeGreaterThan(100);
    expect(deployed).toEqual(tested);
  });

  it('lists exactly the dependencies of functions/package.json', () => {
    expect(functionsLock.packages['']?.dependencies).toEqual(functionsPackage.dependencies);
  });

  it('is what the generator writes (regenerate: npx tsx scripts/deploy/functions-lock.ts)', () => {
    const written = readFileSync(join(__dirname, '../../functions/package-lock.json'), 'utf8');
    expect(written).toBe(`${JSON.stringify(deriveFunctionsLock(root, functionsPackage), null, 2)}\n`);
  });
});
