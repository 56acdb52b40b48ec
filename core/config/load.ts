/**
 * Loads the one YAML config file, applies `PHAROS_*` environment overrides and validates.
 *
 * Overrides: `PHAROS_<SECTION>__<KEY>=value`, where `__` descends one level and single `_`
 * stays part of a key name (`PHAROS_PIPELINE__WAREHOUSE__BATCH_ROWS=10000`). Values are read as
 * YAML scalars or flow collections, so `PHAROS_KAFKA__BROKERS=[127.0.0.1:9092]` and
 * `PHAROS_KAFKA__BROKERS=127.0.0.1:9092,127.0.0.1:9093` both give a list.
 */
import { readFileSync } from 'node:fs';
import { parseDocument, parse as parseYaml, LineCounter, isMap, isSeq, isPair, isScalar, type Node } from 'yaml';
import { z } from 'zod';
import { configSchema, type PharosConfig } from './schema.js';

/** Environment variables with the prefix that are not config keys. */
const RESERVED_ENV = new Set(['PHAROS_CONFIG', 'PHAROS_KAFKA_CACHE', 'PHAROS_TEST_KAFKA_BROKERS']);

export interface ConfigIssue {
  /** Dotted key path, e.g. `pipeline.warehouse.batch_rows`. */
  key: string;
  message: string;
  /** Where the value came from: `file.yaml:12:3`, or the environment variable. */
  source?: string;
}

export class ConfigError extends Error {
  readonly code = 'invalid_config';
  constructor(readonly issues: ConfigIssue[], readonly origin: string) {
    super(`invalid configuration (${origin}):\n` + issues.map((i) => `  - ${i.key}: ${i.message}${i.source ? ` (at ${i.source})` : ''}`).join('\n'));
    this.name = 'ConfigError';
  }
}

export interface LoadOptions {
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

export function loadConfig(opts: LoadOptions = {}): PharosConfig {
  const env = opts.env ?? process.env;
  const file = opts.file ?? env.PHAROS_CONFIG;
  let raw: Record<string, unknown> = {};
  let positions = new Map<string, string>();
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError([{ key: '(file)', message: `cannot read ${file}: ${(err as Error).message}` }], file);
    }
    const parsed = parseYamlWithPositions(text, file);
    raw = parsed.value;
    positions = parsed.positions;
  }
  const envIssues: ConfigIssue[] = [];
  for (const [name, value] of Object.entries(env)) {
    // PHAROS_FAULT_* are the fault-injection hooks of the chaos and fault tests, not config.
    if (!name.startsWith('PHAROS_') || RESERVED_ENV.has(name) || name.startsWith('PHAROS_FAULT_') || value === undefined) continue;
    const path = name.slice('PHAROS_'.length).toLowerCase().split('__');
    if (path.some((p) => p === '')) {
      envIssues.push({ key: name, message: 'malformed override name (use __ between levels)', source: 'environment' });
      continue;
    }
    let parsed = parseEnvValue(value);
    // A list key given one value (`PHAROS_KAFKA__BROKERS=127.0.0.1:9092`) is a list of one.
    if (!Array.isArray(parsed) && parsed !== null && typeof parsed !== 'object' && isArrayAt(path)) parsed = [parsed];
    setPath(raw, path, parsed);
    positions.set(path.join('.'), `environment ${name}`);
  }
  if (envIssues.length) throw new ConfigError(envIssues, 'environment');
  return validateConfig(raw, file ?? 'defaults', positions);
}

export function validateConfig(raw: unknown, origin = 'config', positions = new Map<string, string>()): PharosConfig {
  const result = configSchema.safeParse(raw, { reportInput: true });
  if (result.success) return result.data;
  throw new ConfigError(toIssues(result.error, positions), origin);
}

function toIssues(error: z.ZodError, positions: Map<string, string>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const base = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) {
        const key = [...base, k].join('.');
        issues.push({ key, message: 'unknown key', source: positions.get(key) });
      }
      continue;
    }
    const key = base.join('.') || '(root)';
    issues.push({ key, message: describe(issue), source: positions.get(key) });
  }
  return issues;
}

function describe(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') {
    return issue.input === undefined ? `required ${issue.expected} is missing` : `expected ${issue.expected}, got ${typeName(issue.input, issue.path)}`;
  }
  return issue.message;
}

/**
 * Keys whose values may be secrets: a wrong type there (a password where a section belongs, a
 * token where a list entry belongs) must not print the value into a log or a terminal.
 */
const SECRET_PATH = /pass|token|secret|key|sasl|auth|url|credential|users|cookie|receivers|_configs/i;

function typeName(v: unknown, path: readonly PropertyKey[] = []): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v !== 'string') return typeof v;
  if (path.some((p) => SECRET_PATH.test(String(p)))) return `a string (${v.length} characters; not shown: the key may hold a secret)`;
  return `string "${v.length > 40 ? v.slice(0, 40) + '…' : v}"`;
}

/** Whether the schema expects a list at this key path (defaults and optionals unwrapped). */
function isArrayAt(path: string[]): boolean {
  let node: z.ZodType | undefined = configSchema;
  for (const key of [...path, '']) {
    while (node && (node instanceof z.ZodDefault || node instanceof z.ZodPrefault || node instanceof z.ZodOptional)) {
      node = (node as z.ZodDefault<z.ZodType>).unwrap() as z.ZodType;
    }
    if (key === '') break;
    if (!(node instanceof z.ZodObject)) return false;
    node = (node.shape as Record<string, z.ZodType>)[key];
  }
  return node instanceof z.ZodArray;
}

function parseEnvValue(value: string): unknown {
  const trimmed = value.trim();
  if (trimmed.includes(',') && !/^[[{]/.test(trimmed)) return trimmed.split(',').map((s) => parseScalar(s.trim()));
  return parseScalar(trimmed);
}

function parseScalar(s: string): unknown {
  try {
    return parseYaml(s);
  } catch {
    return s;
  }
}

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (const [i, k] of path.entries()) {
    if (i === path.length - 1) {
      cur[k] = value;
      return;
    }
    const next = cur[k];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
}

/** Parses YAML and remembers `file:line:col` of every key, so errors point at the line to fix. */
function parseYamlWithPositions(text: string, file: string): { value: Record<string, unknown>; positions: Map<string, string> } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  if (doc.errors.length) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        return { key: '(yaml)', message: e.message.split('\n')[0] ?? e.message, source: pos ? `${file}:${pos.line}:${pos.col}` : file };
      }),
      file,
    );
  }
  let value: unknown;
  try {
    value = doc.toJS() ?? {};
  } catch (err) {
    // yaml throws while it resolves aliases: an unknown anchor, or more aliases than its budget (a "billion laughs" file).
    throw new ConfigError([{ key: '(yaml)', message: err instanceof Error ? err.message : String(err), source: file }], file);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError([{ key: '(root)', message: 'the config file must be a YAML mapping' }], file);
  }
  const positions = new Map<string, string>();
  const walk = (node: Node | null | undefined, prefix: string[]): void => {
    if (isMap(node)) {
      for (const item of node.items) {
        if (!isPair(item) || !isScalar(item.key)) continue;
        const path = [...prefix, String(item.key.value)];
        const range = item.key.range;
        if (range) {
          const { line, col } = lineCounter.linePos(range[0]);
          positions.set(path.join('.'), `${file}:${line}:${col}`);
        }
        walk(item.value as Node, path);
      }
    } else if (isSeq(node)) {
      node.items.forEach((child, i) => {
        const path = [...prefix, String(i)];
        const range = (child as Node).range;
        if (range) {
          const { line, col } = lineCounter.linePos(range[0]);
          positions.set(path.join('.'), `${file}:${line}:${col}`);
        }
        walk(child as Node, path);
      });
    }
  };
  walk(doc.contents as Node, []);
  return { value: value as Record<string, unknown>, positions };
}
