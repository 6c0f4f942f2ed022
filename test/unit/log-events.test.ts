import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { alertPolicies, LOG_METRICS } from '../../scripts/deploy/monitoring';
import { catalogueMessages, LOG_EVENTS } from '../../functions/src/observability/log-events';

/**
 * Log messages are the filters of the log-based metrics and alerts. These tests tie the three
 * together: every message a filter names is in the catalogue, every catalogue message is still
 * logged by functions/src, and every message functions/src logs is in the catalogue.
 *
 * A call site logs either a catalogue entry (`LOG_EVENTS.name`, called or not) or a literal; a
 * template literal stands for every message its `${…}` parts can produce.
 */

const SRC = join(__dirname, '../../functions/src');
const CATALOGUE_FILE = join(SRC, 'observability/log-events.ts');

type Logged = { file: string; references: string[]; literals: RegExp[]; unreadable: string[] };

const LOGGER_CALL = /\blogger(?:\.(?:debug|info|warn|error)|\[[^\]]*\])\(\s*/g;
const CATALOGUE_REFERENCE = /^LOG_EVENTS\.(\w+)/;
const LITERAL = /^(['`])((?:\\.|(?!\1)[^\\])*)\1/;

function literalPattern(quote: string, text: string): RegExp {
  const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${quote === '`' ? escaped.replace(/\\\$\\\{[^}]*\\\}/g, '.+') : escaped}$`);
}

/** What one source file logs: catalogue names it references, literal messages, calls of neither kind. */
function loggedIn(file: string, source: string): Logged {
  const logged: Logged = { file, references: [...source.matchAll(/\bLOG_EVENTS\.(\w+)/g)].map((m) => m[1] ?? ''), literals: [], unreadable: [] };
  for (const call of source.matchAll(LOGGER_CALL)) {
    const argument = source.slice((call.index ?? 0) + call[0].length);
    const literal = LITERAL.exec(argument);
    if (literal) logged.literals.push(literalPattern(literal[1] ?? '', literal[2] ?? ''));
    else if (!CATALOGUE_REFERENCE.test(argument)) logged.unreadable.push(argument.split('\n')[0] ?? '');
  }
  return logged;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

function scanSources(): Logged[] {
  return sourceFiles(SRC)
    .filter((file) => file !== CATALOGUE_FILE)
    .map((file) => loggedIn(relative(SRC, file), readFileSync(file, 'utf8')));
}

/** Catalogue messages that no call site logs, neither by reference nor as the same literal. */
function unlogged(catalogue: { name: string; message: string }[], logged: Logged[]): string[] {
  const referenced = new Set(logged.flatMap((l) => l.references));
  const literals = logged.flatMap((l) => l.literals);
  return catalogue.filter(({ name, message }) => !referenced.has(name) && !literals.some((p) => p.test(message))).map(({ message }) => message);
}

/** Literal messages logged that are not in the catalogue. */
function uncatalogued(catalogue: { message: string }[], logged: Logged[]): string[] {
  return logged.flatMap((l) => l.literals.filter((p) => !catalogue.some(({ message }) => p.test(message))).map((p) => `${l.file}: ${p.source}`));
}

/** The messages a filter names: `jsonPayload.message=("a" OR "b")`. */
function filteredMessages(filter: string): string[] {
  return [...filter.matchAll(/jsonPayload\.message=\(([^)]*)\)/g)].flatMap((m) => [...(m[1] ?? '').matchAll(/"([^"]*)"/g)].map((q) => q[1] ?? ''));
}

function monitoringFilters(): string[] {
  const conditions = Object.values(alertPolicies(['gmail-watch-push'])).flatMap((policy) => policy.conditions);
  return [
    ...Object.values(LOG_METRICS).map((metric) => metric.filter),
    ...conditions.flatMap((c) => [c.conditionThreshold?.filter ?? '', c.conditionAbsent?.filter ?? '']),
  ];
}

describe('the catalogue of log events', () => {
  const catalogue = catalogueMessages();
  const logged = scanSources();

  it('holds every message a log-based metric or alert filters on', () => {
    const named = monitoringFilters().flatMap(filteredMessages);
    expect(named).toEqual(expect.arrayContaining(['gmail sync finished', 'calendar sync failed', 'audit finished']));
    expect(named.filter((m) => !catalogue.some(({ message }) => message === m))).toEqual([]);
  });

  it('has every message still logged somewhere in functions/src', () => {
    expect(logged.length).toBeGreaterThan(20);
    expect(unlogged(catalogue, logged)).toEqual([]);
  });

  it('names every message functions/src logs', () => {
    expect(uncatalogued(catalogue, logged)).toEqual([]);
    expect(logged.flatMap((l) => l.unreadable.map((call) => `${l.file}: ${call}`))).toEqual([]);
  });

  it('catches a message nobody logs any more, a message missing from the catalogue and a message the scan cannot read', () => {
    const site = loggedIn(
      'example.ts',
      [
        "deps.logger.info(LOG_EVENTS.auditFinished, { sourceId });",
        'logger[transient ? "warn" : "error"](`${type} sync failed`, {});',
        "this.deps.logger.warn('something new happened', {});",
        'logger.debug(message, {});',
      ].join('\n'),
    );
    const sample = [
      { name: 'auditFinished', message: LOG_EVENTS.auditFinished },
      { name: 'syncFailed', message: LOG_EVENTS.syncFailed('calendar') },
      { name: 'syncFinished', message: LOG_EVENTS.syncFinished('gmail') },
    ];
    expect(unlogged(sample, [site])).toEqual(['gmail sync finished']);
    expect(uncatalogued(sample, [site])).toEqual(['example.ts: ^something new happened$']);
    expect(site.unreadable).toEqual(['message, {});']);
    expect(filteredMessages('jsonPayload.message=("a b" OR "c") AND jsonPayload.requested>0')).toEqual(['a b', 'c']);
  });
});
