/**
 * The config file (YAML) and its PHAROS_* environment overrides: whatever the file and the
 * environment hold, loading gives a config or a ConfigError naming the keys, never an exception
 * of another kind. A config that validates also builds every line parser it names (the
 * collector would otherwise fail at start on a file the check passed).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe } from 'vitest';
import { createLineParser } from '../../collector/transforms/parser.js';
import { ConfigError, loadConfig, validateConfig } from '../../core/config/load.js';
import { expectTyped, fromFragments, fuzz, mutatedText, randomText } from './kit.js';

const dir = mkdtempSync(join(tmpdir(), 'pharos-fuzz-config-'));
const path = join(dir, 'pharos.yaml');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SAMPLE = `node_name: web-1
data_dir: ./data
log: { level: info }
kafka:
  brokers: [127.0.0.1:9092, "10.0.0.2:9092"]
  topics: { logs: pharos.logs }
  sasl: { mechanism: scram-sha-256, username: u, password: p }
clickhouse: { url: '', database: pharos, logs_ttl_days: 30 }
auth:
  tokens:
    - { name: ci, role: operator, token_sha256: "${'a'.repeat(64)}" }
collector:
  files:
    - include: [/var/log/*.log]
      parser: regex
      pattern: '^(?<time>\\S+) (?<level>\\w+) (?<message>.*)$'
      time_format: '%d/%b/%Y:%H:%M:%S %z'
    - include: ["/srv/app/**/*.json"]
      parser: json
      time_format: unix_ms
  redact:
    builtins: [email, password]
    patterns: [{ name: card, regex: '\\b\\d{16}\\b', replacement: '[CARD]' }]
pipeline:
  realtime: { window_ms: 7200000 }
  warehouse: { batch_rows: 10000 }
`;

const YAML_FRAGMENTS = ['\n', '  ', '- ', ': ', 'kafka', 'brokers', 'collector', 'files', 'include', 'parser', 'regex', 'pattern', 'time_format', '%Y', '%', '&a ', '*a', '<<: *a', '!!binary ', '{', '}', '[', ']', ',', '"', "'", '#', '---', 'null', '~', '.nan', '-1', '1e999', '0o17', 'true', '__proto__', 'constructor'];

const aliasBomb = fc.integer({ min: 2, max: 7 }).map((levels) => {
  let text = 'a0: &a0 [x, x, x, x, x, x, x, x, x]\n';
  for (let i = 1; i <= levels; i++) text += `a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]\n`;
  return text;
});

const fileText = fc.oneof(
  { arbitrary: mutatedText([SAMPLE], 6), weight: 4 },
  { arbitrary: fromFragments(YAML_FRAGMENTS, 30), weight: 2 },
  { arbitrary: randomText(200), weight: 1 },
  { arbitrary: aliasBomb, weight: 1 },
  { arbitrary: fc.constantFrom('a: *x', 'collector: *nope', '*', '', '[]', '"x"', '- 1'), weight: 1 },
);

const KEY_PATHS = ['KAFKA__BROKERS', 'KAFKA__PARTITIONS', 'LOG__LEVEL', 'COLLECTOR__FILES', 'PIPELINE__WAREHOUSE__BATCH_ROWS', 'CONSTRUCTOR__PROTOTYPE__X', 'TOSTRING', 'KAFKA____X', 'KAFKA__', '__PROTO__', 'AUTH__TOKENS', 'COLLECTOR__REDACT__BUILTINS'];
const envArb = fc.dictionary(
  fc.oneof(fc.constantFrom(...KEY_PATHS), fc.string({ maxLength: 12 })).map((k) => `PHAROS_${k}`),
  fc.oneof(fc.constantFrom('[', '{', '[*a]', '&a [1]', '1,2,3', ' , ', '[1, 2', '!!binary x', 'null', '1e999', '- x'), randomText(30)),
  { maxKeys: 4 },
);

describe('config', () => {
  fuzz('any file and environment: a config or a ConfigError', fc.tuple(fc.option(fileText, { nil: undefined }), envArb), ([text, env]) => {
    if (text !== undefined) writeFileSync(path, text);
    const r = expectTyped('loadConfig', { text, env }, () => loadConfig({ file: text === undefined ? undefined : path, env }), ConfigError);
    if (!r.ok) return;
    for (const input of r.value.collector.files) expectTyped('createLineParser', input, () => createLineParser(input, { parseFailed: () => {} }));
  }, 300);

  fuzz('any parsed value: a config or a ConfigError', fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.record({ collector: fc.record({ files: fc.array(fc.record({ include: fc.constant(['/x']), parser: fc.constantFrom('plain', 'json', 'logfmt', 'regex'), pattern: fc.oneof(randomText(20), fc.constantFrom('(?<a>x)', '(?<a>', '(', '[')), time_format: fc.oneof(randomText(12), fromFragments(['%Y', '%', '%%', '%T', '%Q', 'x', ' '], 5)) }, { requiredKeys: ['include'] }), { maxLength: 2 }) }) })), (raw) => {
    const r = expectTyped('validateConfig', raw, () => validateConfig(raw), ConfigError);
    if (!r.ok) return;
    for (const input of r.value.collector.files) expectTyped('createLineParser', input, () => createLineParser(input, { parseFailed: () => {} }));
  }, 400);
});
