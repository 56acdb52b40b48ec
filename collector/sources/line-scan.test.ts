import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../core/config/load.js';
import { createRedactor, type RedactConfig } from '../transforms/redact.js';
import { detectSeverity } from '../transforms/severity.js';
import { EncodedLogsBuilder, encodeAttributeFields } from '../../core/codec/encoded-logs.js';
import { LineScanner, MAX_SCAN_BYTES, MAX_WRITTEN_ATTRIBUTES, STRING_PATH } from './line-scan.js';
import { LINE_SCAN_WASM } from './line-scan-wasm.js';
import { compileLineScan } from './line-scan.generate.mjs';

const defaults = validateConfig({ data_dir: '/tmp/pharos-line-scan' }).collector.redact;

function scanner(redact: RedactConfig = defaults) {
  const redactor = createRedactor(redact)!;
  const s = LineScanner.create({ secretWords: redactor.cleanWithout });
  if (s === undefined) throw new Error('no line scanner on this runtime');
  return { s, redactor };
}

/** Each line of `lines` with its verdict. */
function verdicts(s: LineScanner, lines: string[]): Array<{ line: string; verdict: number }> {
  const chunk = Buffer.from(lines.map((l) => `${l}\n`).join(''));
  const r = s.scan(chunk);
  const out: Array<{ line: string; verdict: number }> = [];
  let start = 0;
  for (let i = 0; i < r.count; i++) {
    const end = r.ends[i]!;
    const raw = chunk.toString('utf8', start, end);
    out.push({ line: raw.endsWith('\r') ? raw.slice(0, -1) : raw, verdict: r.verdicts[i]! });
    start = end + 1;
  }
  return out;
}

/** A deterministic generator (mulberry32): the same lines on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TOKENS = [
  ...['bearer', 'passw', 'passp', 'akia', 'asia', 'api_', 'api-', 'apik', 'token', 'secret', 'ghp_', 'gho_', 'ghs_', 'github_pat_', 'xox', 'k_live_', 'aiza', 'eyj', '@'],
  ...['bea', 'pass', 'api/', 'api', 'tok', 'sec', 'gh', 'ghx_', 'githu', 'xo', 'k_liv', 'aiz', 'ey', 'req', 'path', 'status'],
  ...['TRACE', 'DEBUG', 'INFO', 'NOTICE', 'WARN', 'WARNING', 'ERROR', 'ERR', 'FATAL', 'CRITICAL'],
  ...['WARNINGS', 'XERROR', 'ERROR_', '_INFO', 'INFO2', 'ERRO', 'INF', 'Info', 'error', 'DEBUGGER', 'TRACED', 'CRIT'],
  ...['[', ']', '<', '>', 'level', 'LeVeL', 'lev', 'level=warn', '"level":30', '[error]', '<debug>'],
  ...['é', '日本', '\u2028', 'x', '0', '-', '_', '=', ':', '/', '.', ',', '\t'],
];

function randomLine(next: () => number): string {
  const parts: string[] = [];
  // Some lines are padded so that their words fall on both sides of the 200-character head.
  if (next() < 0.3) parts.push('p'.repeat(150 + Math.floor(next() * 60)));
  const n = 1 + Math.floor(next() * 12);
  for (let i = 0; i < n; i++) {
    let token = TOKENS[Math.floor(next() * TOKENS.length)]!;
    if (next() < 0.2) token = [...token].map((c) => (next() < 0.5 ? c.toUpperCase() : c.toLowerCase())).join('');
    parts.push(token);
    if (next() < 0.6) parts.push(next() < 0.8 ? ' ' : '');
  }
  return parts.join('') + (next() < 0.1 ? '\r' : '');
}

describe('line scan', () => {
  it('runs the module compiled from line-scan.wat (npm run gen:wasm rebuilds it)', async () => {
    const bytes = (await compileLineScan()) as Buffer;
    expect(bytes.toString('base64')).toBe(LINE_SCAN_WASM);
  });

  it('decides common lines from their bytes', () => {
    const { s } = scanner();
    const lines = [
      '2026-11-23T10:00:00.123Z INFO req=1 path=/api/orders/5 status=200 msg=ok',
      '2026-11-23 10:00:00 WARNING disk almost full on /var',
      'GET /index.html 200 1234 ERROR_COUNT=0',
      'no severity at all',
    ];
    const got = verdicts(s, lines).map(({ verdict }) => (verdict === STRING_PATH ? 'string' : s.severities[verdict]!.text));
    expect(got).toEqual(['INFO', 'WARN', '', '']);
  });

  it('leaves lines that may hold a secret, a marked level or a non-ASCII head to the string path', () => {
    const { s } = scanner();
    const lines = ['Authorization: Bearer abcdefgh1234', 'mail bob@example.com', 'x PassWord=hunter2', 'level=warn boot', '[error] boom', '<debug> x', 'héllo INFO'];
    expect(verdicts(s, lines).map(({ verdict }) => verdict)).toEqual(lines.map(() => STRING_PATH));
  });

  it('agrees with isClean and detectSeverity on every line it decides (20,000 generated lines)', () => {
    for (const config of [defaults, { ...defaults, builtins: ['email' as const] }, { ...defaults, builtins: ['jwt' as const, 'aws_access_key_id' as const] }]) {
      const { s, redactor } = scanner(config);
      const next = random(config.builtins.length);
      let decided = 0;
      for (let round = 0; round < 100; round++) {
        const lines = Array.from({ length: 200 }, () => randomLine(next));
        for (const { line, verdict } of verdicts(s, lines)) {
          if (verdict === STRING_PATH) continue;
          decided++;
          expect(redactor.isClean(line), line).toBe(true);
          expect(detectSeverity(line), line).toEqual(s.severities[verdict]);
        }
      }
      // The fast path is taken for a good share of even these adversarial lines.
      expect(decided).toBeGreaterThan(2000);
    }
  });

  it('reports only the lines a chunk ends, and at most MAX_SCAN_BYTES of them', () => {
    const { s } = scanner();
    const r = s.scan(Buffer.from('INFO one\nWARN two\nERROR unfinis'));
    expect(r.count).toBe(2);
    expect([...r.ends.subarray(0, 2)]).toEqual([8, 17]);
    // Bytes past the end of a shorter chunk are not the previous chunk's.
    s.scan(Buffer.from(`${'a'.repeat(100)} token\n`));
    expect(s.scan(Buffer.from('INFO ok\n')).verdicts[0]).not.toBe(STRING_PATH);
    expect(() => s.scan(Buffer.alloc(MAX_SCAN_BYTES + 1))).toThrow(RangeError);
  });

  it('is not offered for words it cannot match in one vector (over 16 bytes) or cannot find', () => {
    expect(LineScanner.create({ secretWords: ['a_secret_word_of_20b'] })).toBeUndefined();
    expect(LineScanner.create({ secretWords: ['ab'] })).toBeUndefined();
    expect(LineScanner.create({ secretWords: ['token', 'sixteen_bytes_ok'] })).toBeDefined();
  });

  it('matches a 16-byte word whole, and not a line holding one byte less of it', () => {
    const s = LineScanner.create({ secretWords: ['sixteen_bytes_ok'] })!;
    const r = s.scan(Buffer.from('a sixteen_bytes_ok\nINFO sixteen_bytes_o\n'));
    expect([...r.verdicts.subarray(0, r.count)]).toEqual([STRING_PATH, s.severities.findIndex((v) => v.text === 'INFO')]);
  });

  it('is not offered where configured patterns need the line itself', () => {
    const redactor = createRedactor({ ...defaults, patterns: [{ name: 'ids', regex: 'id-\\d+', replacement: '[ID]', ignore_case: false }] })!;
    expect(redactor.cleanWithout).toBeUndefined();
  });

  it('writes the records EncodedLogsBuilder.addPlain writes, over sequence-number sizes, CRs, empty lines and full record areas', () => {
    const { s } = scanner();
    const attributes = encodeAttributeFields({ 'log.file.path': '/var/log/app.log', 'log.file.name': 'app.log', 'pharos.source': 'file:app' });
    const next = random(7);
    for (const [seq, observed, lineCount, width] of [
      [0, 1_700_000_000_123_456_789n, 300, 60],
      [120, 0n, 300, 60],
      [16_300, (1n << 64n) - 1n, 300, 60],
      [2 ** 35 - 100, 5n, 300, 60],
      // 60 KB of short lines: more records than one call's record area holds.
      [1, 9n, 10_000, 1],
    ] as Array<[number, bigint, number, number]>) {
      const texts = Array.from({ length: lineCount }, (_, i) =>
        i % 17 === 0 ? '' : ['INFO', 'WARN', 'ERROR', 'x'][i % 4]! + ' ' + 'y'.repeat(Math.floor(next() * width)) + (i % 5 === 0 ? '\r' : ''),
      );
      const chunk = Buffer.from(texts.map((t) => `${t}\n`).join(''));
      const lines = s.scan(chunk);
      expect(lines.count).toBe(lineCount);
      const viaWasm = new EncodedLogsBuilder({});
      let written = 0;
      let start = 0;
      let calls = 0;
      while (written < lineCount) {
        const n = s.writeRecords(viaWasm, written, lineCount, start, seq + written, attributes, observed);
        expect(n).toBeGreaterThan(0);
        calls++;
        written += n;
        start = lines.ends[written - 1]! + 1;
      }
      expect(calls).toBe(lineCount === 10_000 ? 2 : 1);
      const viaJs = new EncodedLogsBuilder({});
      start = 0;
      for (let i = 0; i < lineCount; i++) {
        const end = lines.ends[i]!;
        const bodyEnd = end > start && chunk[end - 1] === 0x0d ? end - 1 : end;
        viaJs.addPlain(chunk, start, bodyEnd, s.severities[lines.verdicts[i]!]!, attributes, seq + i, observed);
        start = end + 1;
      }
      const a = viaWasm.finish();
      const b = viaJs.finish();
      expect(a.ends).toEqual(b.ends);
      expect(Buffer.compare(a.bytes, b.bytes)).toBe(0);
    }
  });

  it('leaves files whose attributes exceed its area to the caller', () => {
    const { s } = scanner();
    s.scan(Buffer.from('INFO a\n'));
    expect(s.writeRecords(new EncodedLogsBuilder({}), 0, 1, 0, 0, Buffer.alloc(MAX_WRITTEN_ATTRIBUTES + 1), 1n)).toBe(0);
  });
});
