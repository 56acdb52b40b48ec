/**
 * Redaction runs on every line the collector ships: it must never throw, never backtrack into
 * seconds on a hostile line, and be idempotent (a redacted line redacted again is unchanged).
 */
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import { validateConfig } from '../../core/config/load.js';
import { createRedactor } from '../../collector/transforms/redact.js';
import { expectTyped, fuzz, textInputs } from './kit.js';

const redactor = createRedactor(validateConfig({}).collector.redact)!;

const SAMPLES = [
  'user jane@example.com called https://u:pw@api.example.com with Authorization: Bearer abcdef123456',
  '{"user":"bob","password":"hun\\"ter2","api_key":"0123456789abcdef"}',
  'key AKIAIOSFODNN7EXAMPLE token ghp_abcdefghijklmnopqrstuvwxyz0123456789 jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.SflKxwRJSMeKKF2QT4fwpM',
  "DB_PASSWORD = 'p w' redis://:s3cr3t@cache:6379 xoxb-1234567890-abcdefghij sk_live_abcdefghijklmnop1234",
];

/** The pieces every built-in keys on: repeated, they make the lines that hurt backtracking scans. */
const HOSTILE = [
  'Bearer ', 'bearer\t', 'password', 'passwd', 'Password', '=', ':', '"', "'", '\\', '@', '.', 'a.', 'a', '0', ' ', '\t', '://', 'http',
  'AKIA', 'ASIA', 'eyJ', 'eyJa.', 'api_key', 'API-KEY', 'token', 'secret', 'ghp_', 'github_pat_', 'xoxb-', 'sk_live_', 'AIza', '-', '_', '[REDACTED]', '%',
];

const hostileLine = fc
  .tuple(fc.array(fc.constantFrom(...HOSTILE), { minLength: 1, maxLength: 4 }), fc.integer({ min: 1_000, max: 64 * 1024 }), fc.constantFrom(...HOSTILE, ''))
  .map(([unit, length, tail]) => {
    const u = unit.join('');
    return u.repeat(Math.ceil(length / u.length)).slice(0, length) + tail;
  });

describe('redaction', () => {
  fuzz('random and mutated lines: never throws, idempotent', textInputs(SAMPLES, 400), (line) => {
    const once = expectTyped('redactString', line, () => redactor.redactString(line));
    if (!once.ok) return;
    expect(redactor.redactString(once.value)).toBe(once.value);
  });

  // Up to 64 KiB of repeated hints: a quadratic scan takes seconds here and trips the per-call cap.
  fuzz('long adversarial lines are scanned in bounded time', hostileLine, (line) => {
    expectTyped('redactString', line.length, () => redactor.redactString(line));
  }, 60);

  fuzz('records with nested attributes: never throws', fc.tuple(textInputs(SAMPLES, 200), fc.dictionary(fc.string({ maxLength: 10 }), fc.oneof(textInputs(SAMPLES, 100), fc.integer(), fc.array(textInputs(SAMPLES, 50), { maxLength: 3 })), { maxKeys: 5 })), ([body, attributes]) => {
    const record = { timeUnixNano: 0n, observedTimeUnixNano: 1n, severityNumber: 0, severityText: '', body, resource: {}, attributes, traceId: '', spanId: '', flags: 0 };
    expectTyped('redactRecords', record, () => redactor.redactRecords([record]));
  });
});
