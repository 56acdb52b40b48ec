import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from './load.js';

const run = promisify(execFile);

function file(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-config-'));
  const path = join(dir, 'pharos.yaml');
  writeFileSync(path, yaml);
  return path;
}

function issuesOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig: hostile YAML', () => {
  // Found by test/fuzz: yaml throws a ReferenceError while it resolves aliases, and it escaped as not a ConfigError.
  test('an alias bomb or an unresolved alias is a ConfigError naming the file', () => {
    const bomb = file('a0: &a0 [x, x, x, x, x, x, x, x, x]\na1: &a1 [*a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0]\na2: &a2 [*a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1]\na3: &a3 [*a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2]\n');
    expect(issuesOf(() => loadConfig({ file: bomb, env: {} })).issues).toEqual([{ key: '(yaml)', message: expect.stringMatching(/alias count/), source: bomb }]);
    const unresolved = file('kafka: *nope\n');
    expect(issuesOf(() => loadConfig({ file: unresolved, env: {} })).issues).toEqual([{ key: '(yaml)', message: expect.stringMatching(/Unresolved alias/), source: unresolved }]);
  });
});

describe('loadConfig', () => {
  test('gives working defaults with no file at all', () => {
    const config = loadConfig({ env: {} });
    expect(config.dashboard.listen).toBe('127.0.0.1:8080');
    expect(config.collector.listen).toBe('127.0.0.1:4318');
    expect(config.kafka.topics.logs).toBe('pharos.logs');
    expect(config.pipeline.warehouse.group_id).toBe('pharos-warehouse');
  });

  test('refuses an unknown key, naming it with its line', () => {
    const path = file('kafka:\n  brokers: [127.0.0.1:9092]\n  brokerz: [x]\n');
    const err = issuesOf(() => loadConfig({ file: path, env: {} }));
    expect(err.issues).toEqual([{ key: 'kafka.brokerz', message: 'unknown key', source: `${path}:3:3` }]);
    expect(err.message).toContain('kafka.brokerz: unknown key');
  });

  test('refuses a wrong type, naming the key and what was expected', () => {
    const path = file('pipeline:\n  warehouse:\n    batch_rows: lots\n');
    const err = issuesOf(() => loadConfig({ file: path, env: {} }));
    expect(err.issues[0]?.key).toBe('pipeline.warehouse.batch_rows');
    expect(err.issues[0]?.message).toBe('expected number, got string "lots"');
    expect(err.issues[0]?.source).toBe(`${path}:3:5`);
  });

  test('never prints a string given where a secret-bearing key expects something else', () => {
    const secrets = ['hunter2-sasl-password', 'tok_0123456789abcdef0123'];
    for (const [yaml, secret] of [[`kafka:\n  sasl: ${secrets[0]}\n`, secrets[0]], [`auth:\n  tokens: ["${secrets[1]}"]\n`, secrets[1]]] as const) {
      const err = issuesOf(() => loadConfig({ file: file(yaml), env: {} }));
      expect(err.message).not.toContain(secret);
      expect(err.message).toMatch(/not shown: the key may hold a secret/);
    }
  });

  test('refuses a missing required value', () => {
    const path = file('collector:\n  files:\n    - service: app\n');
    const err = issuesOf(() => loadConfig({ file: path, env: {} }));
    expect(err.issues).toContainEqual(expect.objectContaining({ key: 'collector.files.0.include', message: 'required array is missing' }));
  });

  test('applies PHAROS_* overrides over the file, with nesting by double underscore', () => {
    const path = file('dashboard:\n  listen: 127.0.0.1:9000\n');
    const config = loadConfig({
      file: path,
      env: { PHAROS_DASHBOARD__LISTEN: '127.0.0.1:9100', PHAROS_KAFKA__BROKERS: '127.0.0.1:1,127.0.0.1:2', PHAROS_PIPELINE__WAREHOUSE__BATCH_ROWS: '10' },
    });
    expect(config.dashboard.listen).toBe('127.0.0.1:9100');
    expect(config.kafka.brokers).toEqual(['127.0.0.1:1', '127.0.0.1:2']);
    expect(config.pipeline.warehouse.batch_rows).toBe(10);
  });

  test('a single value for a list key is a list of one', () => {
    expect(loadConfig({ env: { PHAROS_KAFKA__BROKERS: '127.0.0.1:9092' } }).kafka.brokers).toEqual(['127.0.0.1:9092']);
  });

  test('names an unknown environment override as the variable it came from', () => {
    const err = issuesOf(() => loadConfig({ env: { PHAROS_KAFKA__BROKERZ: 'x:1' } }));
    expect(err.issues[0]).toEqual({ key: 'kafka.brokerz', message: 'unknown key', source: 'environment PHAROS_KAFKA__BROKERZ' });
  });

  test('reports a YAML syntax error with its line', () => {
    const path = file('kafka:\n  brokers: [a\n');
    const err = issuesOf(() => loadConfig({ file: path, env: {} }));
    expect(err.issues[0]?.key).toBe('(yaml)');
    expect(err.issues[0]?.source).toMatch(new RegExp(`^${path}:\\d+:\\d+$`));
  });

  test('a token in clear must be long enough, and one secret source only', () => {
    const path = file('auth:\n  tokens:\n    - { name: a, role: admin, token: short }\n');
    const err = issuesOf(() => loadConfig({ file: path, env: {} }));
    expect(err.issues[0]?.key).toBe('auth.tokens.0.token');
  });
});

describe('pharos config check', () => {
  const cli = ['--import', 'tsx', join(import.meta.dirname, '../../cli/main.ts'), 'config', 'check'];

  test('exits 0 on a valid file', async () => {
    const { stdout } = await run(process.execPath, [...cli, file('kafka:\n  brokers: [127.0.0.1:9092]\n')], { env: { PATH: process.env.PATH } });
    expect(stdout).toMatch(/^ok: .* is valid/);
  });

  test('exits 1 naming every bad key, without starting anything', async () => {
    const path = file('kafka:\n  brokerz: []\ndashboard:\n  listen: 8080\n');
    const err = await run(process.execPath, [...cli, path], { env: { PATH: process.env.PATH } }).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(1);
    expect(err?.stderr).toContain('kafka.brokerz: unknown key');
    expect(err?.stderr).toContain('dashboard.listen: expected string, got number');
  });
});
