/**
 * Regression tests for crashes the fuzz tests (test/fuzz/*.fuzz.test.ts) found in parsers whose
 * own test files belong to other parts of the tree; each holds the exact failing input.
 */
import { describe, expect, test } from 'vitest';
import { parseRuleFile } from '../../alerts/rules/rule-file.js';
import { compileTemplate, expandTemplate, TemplateError } from '../../alerts/rules/template.js';
import { ReceiveError } from '../../collector/receivers/body.js';
import { otlpJsonToProtobuf } from '../../collector/receivers/otlp-messages.js';
import { parseSyslog } from '../../collector/sources/syslog-parse.js';

const render = (src: string, value = 1.5) => expandTemplate(compileTemplate(src), { labels: { instance: 'h:9100' }, value });

describe('rule files', () => {
  // yaml throws a ReferenceError while it resolves aliases; parseRuleFile let it escape (`pharos rules check` crashed).
  test('an alias bomb is an issue of the file, not an exception', () => {
    const bomb = 'a0: &a0 [x, x, x, x, x, x, x, x, x]\na1: &a1 [*a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0]\na2: &a2 [*a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1]\na3: &a3 [*a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2]\n';
    const r = parseRuleFile('rules.yaml', bomb);
    expect(r.rules).toBeUndefined();
    expect(r.issues).toEqual([{ file: 'rules.yaml', message: expect.stringMatching(/alias count/) }]);
  });

  test('an alias to an anchor never set is an issue of the file', () => {
    expect(parseRuleFile('rules.yaml', 'groups: *x').issues).toEqual([{ file: 'rules.yaml', message: expect.stringMatching(/Unresolved alias/) }]);
  });
});

describe('templates', () => {
  // Compiling and rendering recurse per parenthesis: 2,000 of them overflowed the stack at render (RangeError out of expandTemplate).
  test('parentheses nested past the limit are a compile error', () => {
    const deep = `{{ ${'( toUpper '.repeat(2000)}"x"${')'.repeat(2000)} }}`;
    expect(() => compileTemplate(deep)).toThrow(TemplateError);
    expect(() => compileTemplate(deep)).toThrow('parentheses nested deeper than 100');
    expect(render(`{{ ${'( toUpper '.repeat(100)}"x"${')'.repeat(100)} }}`)).toBe('X');
  });

  // toFixed/toExponential take at most 100 digits: `%.200f` threw a RangeError out of the alert's annotation.
  test('printf precisions past 100 digits print instead of throwing', () => {
    expect(render('{{ printf "%.200f" 1 }}')).toBe(`1.${'0'.repeat(100)}`);
    expect(render('{{ printf "%.101e" 1.5 }}')).toMatch(/^1\.50+e\+00$/);
    expect(render('{{ printf "%.150g" $value }}')).toBe('1.5');
  });

  // A width of 999999999 threw "Invalid string length"; 99999999 built a 100 MB annotation.
  test('printf widths and precisions past 1e6 are refused as Go refuses them', () => {
    expect(render('{{ printf "%999999999d" 1 }}')).toBe('%!(BADWIDTH)');
    expect(render('{{ printf "%99999999d" 1 }}')).toBe('%!(BADWIDTH)');
    expect(render('{{ printf "%.1000001f" 1 }}')).toBe('%!(BADPREC)');
    expect(render('{{ printf "%8d|" 42 }}')).toBe('      42|');
  });
});

describe('syslog', () => {
  // Each structured-data element searched all attributes so far: 4,000 elements in one message took 12 s.
  test('a message with 16,000 structured-data elements is read in linear time', () => {
    const ctx = { service: 'syslog', peer: '10.0.0.9', nowMs: Date.UTC(2026, 11, 5) };
    const started = performance.now();
    const withParams = parseSyslog(`<13>1 - - - - - ${Array.from({ length: 16_000 }, (_, i) => `[a${i} b="c"]`).join('')} body`, ctx);
    const bare = parseSyslog(`<13>1 - - - - - ${Array.from({ length: 16_000 }, (_, i) => `[a${i}]`).join('')} body`, ctx);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(withParams.attributes['syslog.sd.a15999.b']).toBe('c');
    expect(withParams.attributes['syslog.sd.a15999']).toBeUndefined();
    expect(bare.attributes['syslog.sd.a15999']).toBe(true);
    expect(bare.body).toBe('body');
  });
});

describe('OTLP/JSON bodies', () => {
  // The hex-id walk recursed per level: a 70 KB body nested 10,000 deep overflowed the stack (a RangeError, a 500).
  test('a body nested 10,000 deep is a 400, not a stack overflow', () => {
    const deep = Buffer.from(`{"resourceLogs":${'[{"a":'.repeat(10_000)}1${'}]'.repeat(10_000)}}`);
    expect(() => otlpJsonToProtobuf('logs', deep)).toThrow(ReceiveError);
    expect(() => otlpJsonToProtobuf('logs', deep)).toThrow(/nested deeper than 256 levels/);
    const kv = Buffer.from(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":${'{"kvlistValue":{"values":[{"key":"a","value":'.repeat(3000)}{}${'}]}}'.repeat(3000)}}]}]}]}`);
    expect(() => otlpJsonToProtobuf('logs', kv)).toThrow(ReceiveError);
    // Nesting protobuf accepts still converts.
    const ok = Buffer.from(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":${'{"kvlistValue":{"values":[{"key":"a","value":'.repeat(20)}{}${'}]}}'.repeat(20)}}]}]}]}`);
    expect(otlpJsonToProtobuf('logs', ok).length).toBeGreaterThan(0);
  });
});
