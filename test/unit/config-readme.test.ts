import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { envSchema } from '../../functions/src/config';

/**
 * The README's configuration table is written by hand and checked here against the schema:
 * every setting has a row, every row names real settings, and each default is the schema's.
 *
 * A row names one or more variables (each in backticks) in its first cell. Its default cell
 * gives either one value per variable ("1, 3, 5") or one value for all of them.
 */

type Row = { variables: string[]; defaults: string[] };

const SETTING_NAME = /^[A-Z][A-Z0-9_]+$/;

function configurationRows(readme: string): Row[] {
  const section = readme.split(/^## Configuration$/m)[1]?.split(/^## /m)[0] ?? '';
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const [names = '', defaultCell = ''] = line.split('|').slice(1).map((cell) => cell.trim());
      const variables = [...names.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '').filter((name) => SETTING_NAME.test(name));
      const values = defaultCell.split(', ');
      return { variables, defaults: variables.map((_, i) => (values.length === variables.length ? (values[i] ?? '') : defaultCell)) };
    });
}

const GOOGLE_HOST = /(^|\.)(googleapis|google)\.com$/;

/** How the table must state a setting's default, or a predicate for settings without one. */
function expectedDefault(name: string): string | ((cell: string) => boolean) {
  const schema = envSchema.shape[name as keyof typeof envSchema.shape];
  const unset = schema.safeParse(undefined);
  if (!unset.success) return 'required';
  const value: unknown = unset.data;
  // Optional without a default: the cell says in words what happens (unset, derived, Google's…).
  if (value === undefined) return (cell) => cell !== 'required' && !/^\d/.test(cell);
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value) && value.length === 0) return 'none';
  if (typeof value !== 'string') return JSON.stringify(value);
  return URL.canParse(value) && GOOGLE_HOST.test(new URL(value).hostname) ? "Google's" : `\`${value}\``;
}

function tableProblems(rows: Row[]): string[] {
  const settings = Object.keys(envSchema.shape);
  const documented = rows.flatMap((row) => row.variables);
  const problems = [
    ...settings.filter((name) => !documented.includes(name)).map((name) => `${name}: no row in the table`),
    ...documented.filter((name) => !settings.includes(name)).map((name) => `${name}: not a setting`),
  ];
  for (const row of rows) {
    row.variables.forEach((name, i) => {
      if (!settings.includes(name)) return;
      const cell = row.defaults[i] ?? '';
      const expected = expectedDefault(name);
      const ok = typeof expected === 'string' ? cell === expected : expected(cell);
      if (!ok) problems.push(`${name}: the table says "${cell}"${typeof expected === 'string' ? `, the schema ${expected}` : ''}`);
    });
  }
  return problems;
}

const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');

describe("the README's configuration table", () => {
  it('documents every setting, only settings, with the defaults the schema applies', () => {
    const rows = configurationRows(readme);
    expect(rows.length).toBeGreaterThan(10);
    expect(tableProblems(rows)).toEqual([]);
  });

  it('fails for a missing row, an unknown setting and a wrong default', () => {
    const rows = configurationRows(readme);
    const withoutRetention = rows.filter((row) => !row.variables.includes('RETENTION_DAYS'));
    expect(tableProblems(withoutRetention)).toEqual(['RETENTION_DAYS: no row in the table']);
    expect(tableProblems([...rows, { variables: ['NO_SUCH_SETTING'], defaults: ['1'] }])).toEqual(['NO_SUCH_SETTING: not a setting']);
    const wrongDefaults = rows.map((row) =>
      row.variables.includes('RATE_LIMIT_BURST') ? { ...row, defaults: row.defaults.map((d, i) => (row.variables[i] === 'RATE_LIMIT_BURST' ? '4' : d)) } : row,
    );
    expect(tableProblems(wrongDefaults)).toEqual(['RATE_LIMIT_BURST: the table says "4", the schema 3']);
    const requiredAsOptional = rows.map((row) => (row.variables.includes('CALENDAR_PUSH_URL') ? { ...row, defaults: ['unset'] } : row));
    expect(tableProblems(requiredAsOptional)).toEqual(['CALENDAR_PUSH_URL: the table says "unset", the schema required']);
  });

  it('reads a default per variable, or one for the whole row', () => {
    const table = ['## Configuration', '| `A_B`, `C_D` | 1, 2 | x |', '| `E_F`, `G_H` | unset (none) | y |', '## Next', '| `I_J` | 3 | z |'].join('\n');
    expect(configurationRows(table)).toEqual([
      { variables: ['A_B', 'C_D'], defaults: ['1', '2'] },
      { variables: ['E_F', 'G_H'], defaults: ['unset (none)', 'unset (none)'] },
    ]);
  });
});
