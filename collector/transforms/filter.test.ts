import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig, validateConfig } from '../../core/config/load.js';
import type { Attributes, LogRecord } from '../../core/model/records.js';
import { RegistryClass } from '../../core/telemetry/registry.js';
import { countDrop, dropEvents, UNKNOWN_SOURCE } from './drop-events.js';
import type { FilterConfigInput } from './filter-config.js';
import { compileFilter, filterRecords, type LogFilter } from './filter.js';

function record(over: Partial<LogRecord> = {}): LogRecord {
  return {
    timeUnixNano: 0n,
    observedTimeUnixNano: 1n,
    severityNumber: 0,
    severityText: '',
    body: '',
    resource: { 'service.name': 'api', 'host.name': 'h1' },
    attributes: {},
    traceId: '',
    spanId: '',
    flags: 0,
    ...over,
  };
}

/** Filters are built from config as loaded, so the tests see the defaults the schema fills in. */
function filterOf(filters: FilterConfigInput, reasonPrefix?: string): LogFilter {
  const config = validateConfig({ collector: { filters } }).collector.filters;
  const f = compileFilter(config, reasonPrefix === undefined ? {} : { reasonPrefix });
  if (!f) throw new Error('expected a filter');
  return f;
}

/** The config's problems as `key: message` lines (empty when it loads). */
function problems(raw: unknown): string[] {
  try {
    validateConfig(raw);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues.map((i) => `${i.key}: ${i.message}`);
  }
}

const withAttrs = (attributes: Attributes) => record({ attributes });

describe('compileFilter', () => {
  test('nothing configured: no filter, so callers skip the pass', () => {
    expect(compileFilter(undefined)).toBeUndefined();
    expect(compileFilter(validateConfig({}).collector.filters)).toBeUndefined();
    expect(validateConfig({}).collector.filters).toEqual({ drop: [], keep: [] });
  });

  test('regex: unanchored, on body, severity text, attributes and resource', () => {
    const f = filterOf({
      drop: [
        { name: 'health', field: 'body', regex: 'GET /(healthz|ready)' },
        { name: 'verbose', field: 'severity_text', regex: '^VERBOSE$' },
        { name: 'bots', field: 'attributes.http.user_agent', regex: 'bot|crawler' },
        { name: 'staging', field: 'resource.deployment.environment', regex: '^stag' },
      ],
    });
    expect(f.decide(record({ body: '10.0.0.1 GET /healthz 200' }))).toBe('health');
    expect(f.decide(record({ body: 'GET /orders 200' }))).toBeUndefined();
    expect(f.decide(record({ severityText: 'VERBOSE' }))).toBe('verbose');
    expect(f.decide(record({ severityText: 'VERBOSE2' }))).toBeUndefined();
    expect(f.decide(withAttrs({ 'http.user_agent': 'Googlebot/2.1' }))).toBe('bots');
    expect(f.decide(record({ resource: { 'deployment.environment': 'staging' } }))).toBe('staging');
    expect(f.decide(record({ resource: { 'deployment.environment': 'prod' } }))).toBeUndefined();
  });

  test('regex is case-sensitive unless ignore_case', () => {
    const strict = filterOf({ drop: [{ field: 'body', regex: 'debug' }] });
    const folded = filterOf({ drop: [{ field: 'body', regex: 'debug', ignore_case: true }] });
    expect(strict.decide(record({ body: 'DEBUG x' }))).toBeUndefined();
    expect(folded.decide(record({ body: 'DEBUG x' }))).toBe('drop[0]');
  });

  test('equals: the whole value; numbers and booleans compare as their text; ignore_case folds letters', () => {
    const f = filterOf({
      drop: [
        { name: 'ok', field: 'attributes.http.status_code', equals: '200' },
        { name: 'cached', field: 'attributes.cache.hit', equals: 'true' },
        { name: 'noisy', field: 'attributes.logger', equals: 'NetClient', ignore_case: true },
        { name: 'literal', field: 'body', equals: 'a.b' },
      ],
    });
    expect(f.decide(withAttrs({ 'http.status_code': 200 }))).toBe('ok');
    expect(f.decide(withAttrs({ 'http.status_code': '200' }))).toBe('ok');
    expect(f.decide(withAttrs({ 'http.status_code': 2000 }))).toBeUndefined();
    expect(f.decide(withAttrs({ 'http.status_code': 200n }))).toBe('ok');
    expect(f.decide(withAttrs({ 'cache.hit': true }))).toBe('cached');
    expect(f.decide(withAttrs({ 'cache.hit': false }))).toBeUndefined();
    expect(f.decide(withAttrs({ logger: 'netclient' }))).toBe('noisy');
    expect(f.decide(withAttrs({ logger: 'netclient2' }))).toBeUndefined();
    // Regex characters in equals are literal, with or without ignore_case.
    expect(f.decide(record({ body: 'a.b' }))).toBe('literal');
    expect(f.decide(record({ body: 'axb' }))).toBeUndefined();
  });

  test('arrays and maps compare as JSON; null has no text', () => {
    const f = filterOf({ drop: [{ field: 'attributes.tags', regex: '"canary"' }, { field: 'attributes.user', equals: 'null' }] });
    expect(f.decide(withAttrs({ tags: ['a', 'canary'] }))).toBe('drop[0]');
    expect(f.decide(withAttrs({ tags: { n: 1n, k: 'canary' } }))).toBe('drop[0]');
    expect(f.decide(withAttrs({ user: null }))).toBeUndefined();
  });

  test('exists: present (null counts) or absent, in attributes or resource', () => {
    const f = filterOf({ drop: [{ name: 'traced', field: 'attributes.trace.sampled', exists: true }, { name: 'anonymous', field: 'resource.service.version', exists: false }] });
    const versioned = { 'service.version': '1.2' };
    expect(f.decide(record({ resource: versioned, attributes: { 'trace.sampled': null } }))).toBe('traced');
    expect(f.decide(record({ resource: versioned }))).toBeUndefined();
    expect(f.decide(record({ resource: {} }))).toBe('anonymous');
  });

  test('a missing attribute matches no regex or equals, so a drop rule lets it through and a keep rule does not keep it', () => {
    const drop = filterOf({ drop: [{ field: 'attributes.path', regex: '.*' }, { field: 'attributes.path', equals: '' }] });
    expect(drop.decide(record())).toBeUndefined();
    const keep = filterOf({ keep: [{ field: 'attributes.path', regex: '.*' }] });
    expect(keep.decide(record())).toBe('keep');
    expect(keep.decide(withAttrs({ path: '' }))).toBeUndefined();
  });

  test('attributes are own properties only: a key named like an Object method is not found on the prototype', () => {
    const f = filterOf({ keep: [{ field: 'attributes.constructor', exists: true }, { field: 'attributes.toString', regex: 'function' }] });
    expect(f.decide(record())).toBe('keep');
    expect(f.decide(withAttrs({ constructor: 'x' }))).toBeUndefined();
  });

  test('min_severity and max_severity: by OpenTelemetry number over whole levels; a record without a level matches neither', () => {
    const min = filterOf({ keep: [{ min_severity: 'warn' }] });
    expect(min.decide(record({ severityNumber: 13 }))).toBeUndefined();
    expect(min.decide(record({ severityNumber: 24 }))).toBeUndefined();
    expect(min.decide(record({ severityNumber: 12 }))).toBe('keep');
    expect(min.decide(record({ severityNumber: 0 }))).toBe('keep');

    const max = filterOf({ drop: [{ name: 'chatter', max_severity: 'debug' }] });
    expect(max.decide(record({ severityNumber: 1 }))).toBe('chatter');
    expect(max.decide(record({ severityNumber: 8 }))).toBe('chatter');
    expect(max.decide(record({ severityNumber: 9 }))).toBeUndefined();
    expect(max.decide(record({ severityNumber: 0 }))).toBeUndefined();
  });

  test('drop wins over keep; with keep rules a record is kept only when one matches', () => {
    const f = filterOf({
      drop: [{ name: 'health', field: 'body', regex: 'healthz' }],
      keep: [{ field: 'resource.service.name', equals: 'api' }, { min_severity: 'error' }],
    });
    expect(f.decide(record({ body: 'GET /healthz' }))).toBe('health');
    expect(f.decide(record({ body: 'GET /healthz', severityNumber: 17 }))).toBe('health');
    expect(f.decide(record({ body: 'GET /orders' }))).toBeUndefined();
    expect(f.decide(record({ resource: { 'service.name': 'batch' }, severityNumber: 17 }))).toBeUndefined();
    expect(f.decide(record({ resource: { 'service.name': 'batch' }, severityNumber: 9 }))).toBe('keep');
  });

  test('reasons: the rule name, else drop[i] by position; the prefix marks unnamed rules and keep', () => {
    const f = filterOf({ drop: [{ field: 'body', equals: 'a' }, { name: 'bee', field: 'body', equals: 'b' }, { field: 'body', equals: 'c' }], keep: [{ field: 'body', regex: '.' }] }, 'collector.');
    expect(['a', 'b', 'c', ''].map((body) => f.decide(record({ body })))).toEqual(['collector.drop[0]', 'bee', 'collector.drop[2]', 'collector.keep']);
  });
});

describe('filterRecords and the drop counter', () => {
  test('removes dropped records in place, in order, and counts them by pharos.source and reason', async () => {
    const registry = new RegistryClass();
    const events = dropEvents(registry);
    const f = filterOf({ drop: [{ name: 'health', field: 'body', regex: 'healthz' }], keep: [{ min_severity: 'info' }] });
    const from = (source: string | undefined, body: string, severityNumber = 9) =>
      record({ body, severityNumber, attributes: source === undefined ? {} : { 'pharos.source': source } });
    const batch = [
      from('file:/var/log/a.log', 'GET /healthz'),
      from('file:/var/log/a.log', 'one'),
      from('file:/var/log/a.log', 'trace line', 1),
      from('file:/var/log/a.log', 'GET /healthz'),
      from('otlp_http#ab12cd34', 'GET /healthz'),
      from(undefined, 'no source yet', 5),
      from('file:/var/log/a.log', 'two'),
    ];
    expect(filterRecords(batch, f, events)).toBe(5);
    expect(batch.map((r) => r.body)).toEqual(['one', 'two']);

    const m = await registry.getSingleMetric('pharos_collector_records_dropped_total')!.get();
    const counts = Object.fromEntries(m.values.map((v) => [`${v.labels.source} ${v.labels.reason}`, v.value]));
    expect(counts).toEqual({
      'file:/var/log/a.log health': 2,
      'file:/var/log/a.log keep': 1,
      'otlp_http#ab12cd34 health': 1,
      [`${UNKNOWN_SOURCE} keep`]: 1,
    });
  });

  test('property: what stays is exactly, and in order, what decide() keeps', () => {
    const f = filterOf({ drop: [{ field: 'body', regex: '^a' }], keep: [{ min_severity: 'warn' }, { field: 'attributes.k', exists: true }] });
    const rec = fc.record({ body: fc.string({ maxLength: 4 }), severityNumber: fc.integer({ min: 0, max: 24 }), k: fc.boolean() });
    fc.assert(
      fc.property(fc.array(rec, { maxLength: 30 }), (specs) => {
        const batch = specs.map((s) => record({ body: s.body, severityNumber: s.severityNumber, attributes: s.k ? { k: 1 } : {} }));
        const expected = batch.filter((r) => f.decide(r) === undefined);
        const dropped = filterRecords(batch, f);
        expect(batch).toEqual(expected);
        expect(dropped).toBe(specs.length - expected.length);
      }),
    );
  });

  test('a batch nothing drops is left as it was; counting without a filter pass works too', async () => {
    const registry = new RegistryClass();
    const events = dropEvents(registry);
    const f = filterOf({ drop: [{ field: 'body', equals: 'x' }] });
    const batch = [record({ body: 'a' }), record({ body: 'b' })];
    const before = [...batch];
    expect(filterRecords(batch, f, events)).toBe(0);
    expect(batch).toEqual(before);
    expect(filterRecords([record({ body: 'x' })], f)).toBe(1);
    countDrop(events, record({ attributes: { 'pharos.source': 'syslog#1' } }), 'drop[0]');
    // The same metric is shared when built twice in a process (a second collector, a test).
    countDrop(dropEvents(registry), record({ attributes: { 'pharos.source': 'syslog#1' } }), 'drop[0]');
    const m = await registry.getSingleMetric('pharos_collector_records_dropped_total')!.get();
    expect(m.values.map((v) => [v.labels, v.value])).toEqual([[{ host: 'h1', source: 'syslog#1', reason: 'drop[0]' }, 2]]);
  });
});

describe('filter config', () => {
  test('per input and collector-wide, with defaults filled in', () => {
    const c = validateConfig({
      collector: {
        files: [{ include: ['/var/log/app.log'], filters: { drop: [{ field: 'body', regex: 'x' }] } }],
        filters: { keep: [{ min_severity: 'warn' }] },
      },
    });
    expect(c.collector.files[0]!.filters).toEqual({ drop: [{ field: 'body', regex: 'x', ignore_case: false }], keep: [] });
    expect(c.collector.filters).toEqual({ drop: [], keep: [{ min_severity: 'warn', ignore_case: false }] });
    // Absent on an input: nothing to compile.
    expect(validateConfig({ collector: { files: [{ include: ['/a'] }] } }).collector.files[0]!.filters).toBeUndefined();
  });

  test.each([
    [{ drop: [{ field: 'body' }] }, 'collector.filters.drop.0: set one matcher: regex, equals, exists, min_severity, max_severity'],
    [{ drop: [{ field: 'body', regex: 'a', equals: 'b' }] }, 'collector.filters.drop.0: set one matcher per rule, not regex and equals'],
    [{ keep: [{ regex: 'a' }] }, 'collector.filters.keep.0.field: regex needs a field'],
    [{ keep: [{ field: 'attributes.level', min_severity: 'info' }] }, 'collector.filters.keep.0.field: min_severity reads the record\'s severity number: leave out field'],
    [{ drop: [{ field: 'message', equals: 'x' }] }, 'collector.filters.drop.0.field: expected body, severity_text, attributes.<key> or resource.<key>'],
    [{ drop: [{ field: 'attributes.', equals: 'x' }] }, 'collector.filters.drop.0.field: expected body'],
    [{ drop: [{ field: 'body', regex: 'a(' }] }, 'collector.filters.drop.0.regex: does not compile: Invalid regular expression'],
    [{ drop: [{ min_severity: 'warning' }] }, 'collector.filters.drop.0.min_severity: Invalid option: expected one of "trace"|"debug"|"info"|"warn"|"error"|"fatal"'],
    [{ drop: [{ field: 'body', exists: true }] }, 'collector.filters.drop.0.exists: every record has a body'],
    [{ drop: [{ max_severity: 'info', ignore_case: true }] }, 'collector.filters.drop.0.ignore_case: ignore_case applies to regex and equals only'],
    [{ drop: [{ field: 'body', regex: 'a', typo: 1 }] }, 'collector.filters.drop.0.typo: unknown key'],
    [{ drop: [{ name: 'Health', field: 'body', regex: 'a' }] }, 'collector.filters.drop.0.name: expected a snake_case name'],
    [{ drop: [{ name: 'h', field: 'body', regex: 'a' }, { name: 'h', field: 'body', regex: 'b' }] }, 'collector.filters.drop.1.name: name h is taken by an earlier drop rule'],
    [{ drop: [{ name: 'keep', field: 'body', regex: 'a' }] }, 'collector.filters.drop.0.name: name keep is the reason'],
    [{ drops: [] }, 'collector.filters.drops: unknown key'],
  ])('collector.filters %j: %s', (filters, expected) => {
    const found = problems({ collector: { filters } });
    expect(found.some((p) => p.startsWith(expected)), `${expected}\nin\n${found.join('\n')}`).toBe(true);
  });

  test('a per-input rule error names the input', () => {
    const found = problems({ collector: { files: [{ include: ['/a'] }, { include: ['/b'], filters: { keep: [{ field: 'body', regex: '[' }] } }] } });
    expect(found).toEqual([expect.stringMatching(/^collector\.files\.1\.filters\.keep\.0\.regex: does not compile/)]);
  });

  test('the README example loads from YAML and filters as documented', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-filter-'));
    try {
      const file = join(dir, 'pharos.yaml');
      writeFileSync(file, README_EXAMPLE);
      const c = loadConfig({ file, env: {} });
      const nginx = compileFilter(c.collector.files[0]!.filters)!;
      expect(nginx.decide(withAttrs({ path: '/healthz', status: '200' }))).toBe('health_checks');
      expect(nginx.decide(withAttrs({ path: '/healthz/x', status: '304' }))).toBe('not_modified');
      expect(nginx.decide(withAttrs({ path: '/orders', status: '200' }))).toBeUndefined();
      const app = compileFilter(c.collector.files[1]!.filters)!;
      expect(app.decide(record({ severityNumber: 9, attributes: { audit: true } }))).toBeUndefined();
      expect(app.decide(record({ severityNumber: 9 }))).toBe('keep');
      const everywhere = compileFilter(c.collector.filters, { reasonPrefix: 'collector.' })!;
      expect(everywhere.decide(withAttrs({ 'http.user_agent': 'Mozilla/5.0 (compatible; BingBot/2.0)' }))).toBe('bots');
      expect(everywhere.decide(record({ severityNumber: 5 }))).toBe('debug_chatter');
      expect(c.collector.resource).toEqual({ 'deployment.environment': 'prod', 'cloud.region': 'eu-west-1' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const README_EXAMPLE = `collector:
  files:
    - include: ["/var/log/nginx/access.log"]
      service: nginx
      parser: regex
      pattern: '^(?<client>\\S+) \\S+ \\S+ \\[[^\\]]+\\] "(?<method>\\S+) (?<path>\\S+)[^"]*" (?<status>\\d{3})'
      attributes:
        team: web
      filters:
        drop:
          - name: health_checks
            field: attributes.path
            regex: '^/(healthz|ready)$'
          - name: not_modified
            field: attributes.status
            equals: "304"
    - include: ["/var/log/app/*.log"]
      parser: json
      filters:
        keep:
          - min_severity: warn
          - field: attributes.audit
            exists: true
  resource:
    deployment.environment: prod
    cloud.region: eu-west-1
  filters:
    drop:
      - name: debug_chatter
        max_severity: debug
      - name: bots
        field: attributes.http.user_agent
        regex: 'bot|crawler|spider'
        ignore_case: true
`;
