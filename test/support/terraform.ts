import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from '@cdktf/hcl2json';

/** infra/*.tf parsed offline (hcl2json) and merged, for the deployment tests. */

export const INFRA = join(__dirname, '../../infra');
export type Block = Record<string, unknown>;
export interface Terraform {
  resource: Record<string, Record<string, Block>>;
  data: Record<string, Record<string, Block>>;
  variable: Record<string, Block>;
  locals: Record<string, unknown>;
  output: Record<string, Block>;
}

export const tfFiles = () => readdirSync(INFRA).filter((f) => f.endsWith('.tf'));

export async function loadTerraform(): Promise<Terraform> {
  const merged: Terraform = { resource: {}, data: {}, variable: {}, locals: {}, output: {} };
  for (const file of tfFiles()) {
    const parsed = (await parse(file, readFileSync(join(INFRA, file), 'utf8'))) as Record<string, unknown>;
    for (const kind of ['resource', 'data'] as const) {
      for (const [type, byName] of Object.entries((parsed[kind] ?? {}) as Record<string, Record<string, Block[]>>)) {
        for (const [name, [block]] of Object.entries(byName)) (merged[kind][type] ??= {})[name] = block!;
      }
    }
    for (const kind of ['variable', 'output'] as const) {
      for (const [name, [block]] of Object.entries((parsed[kind] ?? {}) as Record<string, Block[]>)) merged[kind][name] = block!;
    }
    for (const locals of (parsed.locals ?? []) as Block[]) Object.assign(merged.locals, locals);
  }
  return merged;
}

/** Every string in a parsed block, depth first. */
export function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

/** The `${…}` expressions inside a string (nested braces included). */
export function interpolations(text: string): string[] {
  const found: string[] = [];
  for (let start = text.indexOf('${'); start !== -1; start = text.indexOf('${', start + 2)) {
    let depth = 0;
    for (let i = start + 1; i < text.length; i++) {
      if (text[i] === '{') depth++;
      else if (text[i] === '}' && --depth === 0) {
        found.push(text.slice(start + 2, i));
        break;
      }
    }
  }
  return found;
}
