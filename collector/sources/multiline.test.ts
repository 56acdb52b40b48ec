import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../../core/config/load.js';
import { MultilineAggregator, type MultilineConfig, type MultilineRecord, type TailLine } from './multiline.js';

const DATED = String.raw`^\d{4}-\d{2}-\d{2}`;

function aggregator(config: Partial<MultilineConfig> = {}, maxBytes = 256 * 1024): MultilineAggregator {
  return new MultilineAggregator({ start_pattern: DATED, max_lines: 500, timeout_ms: 1000, ...config }, maxBytes);
}

/** The lines of `text` (each ending with "\n") as the file tail hands them over, with byte offsets. */
function linesOf(text: string, from = 0): TailLine[] {
  const out: TailLine[] = [];
  let offset = from;
  for (const line of text.split('\n').slice(0, -1)) {
    const end = offset + Buffer.byteLength(line) + 1;
    out.push({ text: line, startOffset: offset, endOffset: end, truncated: false, invalid: false });
    offset = end;
  }
  return out;
}

function feed(agg: MultilineAggregator, lines: readonly TailLine[], now = 0): MultilineRecord[] {
  return lines.flatMap((l) => agg.push(l, now));
}

const bytes = (s: string): number => Buffer.byteLength(s);

const JAVA_TRACE = [
  '2024-05-01 12:00:00.123 ERROR [main] c.e.Api - request failed for café',
  'java.lang.IllegalStateException: boom',
  '\tat com.example.Foo.bar(Foo.java:10)',
  '\tat com.example.Main.main(Main.java:5)',
  'Caused by: java.io.IOException: disk gone',
  '\tat com.example.Disk.read(Disk.java:3)',
  '\t... 2 more',
];
const PYTHON_TRACEBACK = [
  '2024-05-01 12:00:00,123 ERROR app: unhandled',
  'Traceback (most recent call last):',
  '  File "/app/main.py", line 10, in <module>',
  '    main()',
  '  File "/app/main.py", line 6, in main',
  '    1 / 0',
  'ZeroDivisionError: division by zero',
];

describe('MultilineAggregator', () => {
  test('a Java stack trace, causes included, is one record; the next dated line closes it', () => {
    const text = [...JAVA_TRACE, '2024-05-01 12:00:01.000 INFO  [main] c.e.Api - next', ''].join('\n');
    const agg = aggregator();
    const records = feed(agg, linesOf(text));
    const traceBytes = bytes(JAVA_TRACE.join('\n')) + 1;
    expect(records).toEqual([{ body: JAVA_TRACE.join('\n'), startOffset: 0, endOffset: traceBytes, lines: 7, truncated: false, invalid: false, droppedBytes: 0 }]);
    expect(agg.pendingStart()).toBe(traceBytes);
    expect(agg.flush()).toEqual({ body: '2024-05-01 12:00:01.000 INFO  [main] c.e.Api - next', startOffset: traceBytes, endOffset: bytes(text), lines: 1, truncated: false, invalid: false, droppedBytes: 0 });
    expect(agg.pendingStart()).toBeUndefined();
  });

  test('a Python traceback between two dated lines is one record, offsets from where the file was read', () => {
    const text = ['2024-05-01 11:59:59,000 INFO app: start', ...PYTHON_TRACEBACK, '2024-05-01 12:00:00,200 INFO app: recovered', ''].join('\n');
    const agg = aggregator();
    const records = feed(agg, linesOf(text, 1000));
    const first = bytes('2024-05-01 11:59:59,000 INFO app: start\n');
    expect(records.map((r) => [r.body, r.startOffset, r.endOffset, r.lines])).toEqual([
      ['2024-05-01 11:59:59,000 INFO app: start', 1000, 1000 + first, 1],
      [PYTHON_TRACEBACK.join('\n'), 1000 + first, 1000 + first + bytes(PYTHON_TRACEBACK.join('\n')) + 1, 7],
    ]);
    expect(agg.pendingStart()).toBe(1000 + first + bytes(PYTHON_TRACEBACK.join('\n')) + 1);
  });

  test('continuation lines at the top of a file (read from the middle of a trace) become a record of their own', () => {
    const text = '\tat com.example.Foo.bar(Foo.java:10)\n\tat com.example.Main.main(Main.java:5)\n2024-05-01 12:00:01 INFO next\n';
    const agg = aggregator();
    const records = feed(agg, linesOf(text));
    const end = text.indexOf('2024');
    expect(records).toEqual([
      { body: '\tat com.example.Foo.bar(Foo.java:10)\n\tat com.example.Main.main(Main.java:5)', startOffset: 0, endOffset: end, lines: 2, truncated: false, invalid: false, droppedBytes: 0 },
    ]);
    expect(agg.pendingStart()).toBe(end);
  });

  test('an empty line continues the record (a blank line inside a message)', () => {
    const records = feed(aggregator(), linesOf('2024-05-01 a\n\nmore\n2024-05-01 b\n'));
    expect(records.map((r) => r.body)).toEqual(['2024-05-01 a\n\nmore']);
  });

  test('a record closes at max_lines, untruncated, and the lines after it continue in a new record', () => {
    const lines = linesOf(['2024-05-01 start', ...Array.from({ length: 7 }, (_, i) => `\tat frame${i}`), '2024-05-01 next', ''].join('\n'));
    const agg = aggregator({ max_lines: 3 });
    const records = feed(agg, lines);
    expect(records.map((r) => [r.body, r.lines, r.truncated])).toEqual([
      ['2024-05-01 start\n\tat frame0\n\tat frame1', 3, false],
      ['\tat frame2\n\tat frame3\n\tat frame4', 3, false],
      ['\tat frame5\n\tat frame6', 2, false],
    ]);
    expect(records[1]!.startOffset).toBe(records[0]!.endOffset);
    expect(records[2]!.startOffset).toBe(records[1]!.endOffset);
    expect(agg.flush()?.body).toBe('2024-05-01 next');
  });

  test('with max_lines 1 every line is its own record, as without multiline', () => {
    const agg = aggregator({ max_lines: 1 });
    const [a, b, c] = linesOf('2024-05-01 a\n\tat x\n2024-05-01 b\n');
    expect(agg.push(a!, 0).map((r) => r.body)).toEqual(['2024-05-01 a']);
    expect(agg.push(b!, 0).map((r) => r.body)).toEqual(['\tat x']);
    expect(agg.push(c!, 0).map((r) => r.body)).toEqual(['2024-05-01 b']);
    expect(agg.pendingStart()).toBeUndefined();
  });

  test('max_bytes cuts the line that would overflow before a multibyte character, never through it', () => {
    // 'abc' + '\n' leaves 3 bytes: 'x' fits, '€' (3 bytes) would not.
    const agg = aggregator({ start_pattern: '^a' }, 7);
    const lines = linesOf('abc\nx€yz\n  aft\n');
    const records = feed(agg, lines);
    expect(records[0]).toEqual({ body: 'abc\nx', startOffset: 0, endOffset: lines[1]!.endOffset, lines: 2, truncated: true, invalid: false, droppedBytes: bytes('€yz') });
    expect(bytes(records[0]!.body)).toBeLessThanOrEqual(7);
    // The continuation after the cut is not dropped: it opens the next record.
    expect(agg.pendingStart()).toBe(lines[1]!.endOffset);
    expect(agg.flush()).toMatchObject({ body: '  aft', truncated: false, droppedBytes: 0 });
  });

  test('max_bytes never splits a surrogate pair: a 4-byte emoji that does not fit is dropped whole', () => {
    const agg = aggregator({ start_pattern: '^a' }, 8);
    const [record] = feed(agg, linesOf('abc\nxy😀z\n'));
    expect(record).toMatchObject({ body: 'abc\nxy', truncated: true, droppedBytes: bytes('😀z') });
    expect(Buffer.from(record!.body, 'utf8').toString('utf8')).toBe(record!.body);
  });

  test('a line of which nothing fits adds no empty line to the body', () => {
    // 'abcdef' + '\n' leaves 1 byte: not room for 'é'.
    const agg = aggregator({ start_pattern: '^a' }, 8);
    const [record] = feed(agg, linesOf('abcdef\néa\n'));
    expect(record).toMatchObject({ body: 'abcdef', lines: 2, truncated: true, droppedBytes: 3 });
  });

  test('a body exactly max_bytes long closes the record without truncation', () => {
    const agg = aggregator({ start_pattern: '^a' }, 9);
    const records = feed(agg, linesOf('abcd\n wxy\n z\n'));
    expect(records).toEqual([{ body: 'abcd\n wxy', startOffset: 0, endOffset: 10, lines: 2, truncated: false, invalid: false, droppedBytes: 0 }]);
    expect(agg.flush()?.body).toBe(' z');
  });

  test('a start line that fills max_bytes by itself completes two records in one push, oldest first', () => {
    const agg = aggregator({ start_pattern: '^a' }, 8);
    const [a, b, c] = linesOf('ab\n x\nabcdefghij\n');
    expect(agg.push(a!, 0)).toEqual([]);
    expect(agg.push(b!, 0)).toEqual([]);
    expect(agg.push(c!, 0)).toEqual([
      { body: 'ab\n x', startOffset: 0, endOffset: b!.endOffset, lines: 2, truncated: false, invalid: false, droppedBytes: 0 },
      { body: 'abcdefgh', startOffset: b!.endOffset, endOffset: c!.endOffset, lines: 1, truncated: true, invalid: false, droppedBytes: 2 },
    ]);
    expect(agg.pendingStart()).toBeUndefined();
  });

  test('a record carries the truncated and invalid flags of its lines', () => {
    const agg = aggregator();
    const [a, b, c, d] = linesOf('2024-05-01 a\n\tat x\n2024-05-01 b\n2024-05-01 c\n');
    agg.push(a!, 0);
    agg.push({ ...b!, truncated: true, invalid: true }, 0);
    const [first] = agg.push(c!, 0);
    expect(first).toMatchObject({ truncated: true, invalid: true, droppedBytes: 0 });
    const [second] = agg.push(d!, 0);
    expect(second).toMatchObject({ body: '2024-05-01 b', truncated: false, invalid: false });
  });

  test('a record is due timeout_ms after its last line, and flush() ships it', () => {
    const agg = aggregator({ timeout_ms: 1000 });
    const [a, b] = linesOf('2024-05-01 a\n\tat x\n');
    expect(agg.due(0)).toBe(false);
    expect(agg.deadline()).toBeUndefined();
    agg.push(a!, 0);
    agg.push(b!, 500);
    expect(agg.deadline()).toBe(1500);
    expect(agg.due(1499)).toBe(false);
    expect(agg.due(1500)).toBe(true);
    expect(agg.flush()).toMatchObject({ body: '2024-05-01 a\n\tat x', lines: 2, startOffset: 0, endOffset: b!.endOffset });
    expect(agg.due(5000)).toBe(false);
    expect(agg.flush()).toBeUndefined();
    expect(agg.pendingStart()).toBeUndefined();
  });

  test('a continuation arriving after a timeout flush opens a new record', () => {
    const agg = aggregator({ timeout_ms: 10 });
    const [a, b] = linesOf('2024-05-01 a\n\tat late\n');
    agg.push(a!, 0);
    expect(agg.due(10) && agg.flush()?.body).toBe('2024-05-01 a');
    expect(agg.push(b!, 20)).toEqual([]);
    expect(agg.pendingStart()).toBe(a!.endOffset);
  });

  test('a hostile 256 KiB line and 100k continuation lines go through whole', () => {
    const max = 256 * 1024;
    const agg = aggregator({ max_lines: 100_001 }, max);
    const huge = '2024-05-01 ' + 'x'.repeat(max - 11);
    const [first] = agg.push({ text: huge, startOffset: 0, endOffset: max + 1, truncated: false, invalid: false }, 0);
    // Full at its first line: closed at once.
    expect(first).toMatchObject({ lines: 1, truncated: false, endOffset: max + 1 });
    expect(first!.body.length).toBe(max);

    // The largest max_line_bytes the config allows, so 100k frames fit one record.
    const big = aggregator({ max_lines: 100_001 }, 800 * 1024);
    const frames = linesOf('\tat f\n'.repeat(100_000), max + 1);
    const records = feed(big, frames);
    const rest = big.flush();
    expect(records).toEqual([]);
    expect(rest).toMatchObject({ lines: 100_000, startOffset: max + 1, endOffset: max + 1 + 6 * 100_000, truncated: false });
    expect(rest!.body.length).toBe(6 * 100_000 - 1);
  });

  test('rejects a max_bytes that is not a positive integer', () => {
    expect(() => aggregator({}, 0)).toThrow(/max_bytes must be a positive integer, got 0/);
  });

  describe('properties', () => {
    const START = '2024-05-01';
    const lineText = fc.oneof(
      fc.string({ unit: fc.constantFrom('a', ' ', '\t', 'é', '€', '😀'), maxLength: 12 }).map((s) => `${START} ${s}`),
      fc.string({ unit: fc.constantFrom('a', ' ', '\t', 'é', '€', '😀'), maxLength: 12 }).filter((s) => !s.startsWith(START)),
    );
    const op = fc.oneof({ arbitrary: lineText, weight: 9 }, { arbitrary: fc.constant(undefined), weight: 1 });

    /** Feeds the lines (undefined = a flush, as at a timeout), then flushes at the end. */
    function run(agg: MultilineAggregator, ops: ReadonlyArray<string | undefined>): { records: MultilineRecord[]; input: TailLine[] } {
      const records: MultilineRecord[] = [];
      const input: TailLine[] = [];
      let offset = 0;
      for (const text of ops) {
        if (text === undefined) {
          const r = agg.flush();
          if (r) records.push(r);
          continue;
        }
        const line: TailLine = { text, startOffset: offset, endOffset: offset + bytes(text) + 1, truncated: false, invalid: false };
        offset = line.endOffset;
        input.push(line);
        records.push(...agg.push(line, 0));
        // The unfinished record never starts past a line not yet shipped.
        const pending = agg.pendingStart();
        if (pending !== undefined) expect(pending).toBe(records.length > 0 ? records.at(-1)!.endOffset : 0);
      }
      const last = agg.flush();
      if (last) records.push(last);
      return { records, input };
    }

    function expectContiguous(records: readonly MultilineRecord[], input: readonly TailLine[]): void {
      let offset = 0;
      let line = 0;
      for (const r of records) {
        expect(r.startOffset).toBe(offset);
        expect(r.startOffset).toBe(input[line]!.startOffset);
        line += r.lines;
        expect(r.endOffset).toBe(input[line - 1]!.endOffset);
        offset = r.endOffset;
      }
      expect(line).toBe(input.length);
      expect(offset).toBe(input.at(-1)?.endOffset ?? 0);
    }

    test('records reproduce the input lines in order, with contiguous offsets, start lines first', () => {
      fc.assert(
        fc.property(fc.array(op, { maxLength: 60 }), fc.integer({ min: 1, max: 8 }), (ops, maxLines) => {
          const { records, input } = run(aggregator({ max_lines: maxLines }), ops);
          expect(records.flatMap((r) => r.body.split('\n'))).toEqual(input.map((l) => l.text));
          expectContiguous(records, input);
          let line = 0;
          for (const r of records) {
            expect(r.lines).toBeLessThanOrEqual(maxLines);
            expect(r.truncated).toBe(false);
            // A start line is always the first line of its record.
            for (let i = line + 1; i < line + r.lines; i++) expect(input[i]!.text.startsWith(START)).toBe(false);
            line += r.lines;
          }
        }),
        { numRuns: 300 },
      );
    });

    test('under a small max_bytes, bodies fit, are prefixes of their lines, and offsets stay contiguous', () => {
      fc.assert(
        fc.property(fc.array(op, { maxLength: 60 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 16, max: 64 }), (ops, maxLines, maxBytes) => {
          const { records, input } = run(aggregator({ max_lines: maxLines }, maxBytes), ops);
          expectContiguous(records, input);
          let line = 0;
          for (const r of records) {
            const joined = input.slice(line, line + r.lines).map((l) => l.text).join('\n');
            line += r.lines;
            expect(bytes(r.body)).toBeLessThanOrEqual(maxBytes);
            expect(Buffer.from(r.body, 'utf8').toString('utf8')).toBe(r.body);
            if (!r.truncated) {
              expect(r.body).toBe(joined);
              continue;
            }
            expect(joined.startsWith(r.body)).toBe(true);
            // What is missing is the dropped text, plus its joining newline when nothing of the line was kept.
            expect([r.droppedBytes, r.droppedBytes + 1]).toContain(bytes(joined) - bytes(r.body));
          }
        }),
        { numRuns: 300 },
      );
    });
  });
});

describe('collector.files[].multiline config', () => {
  function load(yaml: string) {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-multiline-'));
    const file = join(dir, 'pharos.yaml');
    writeFileSync(file, yaml);
    return { file, load: () => loadConfig({ file, env: {} }) };
  }

  test('defaults max_lines to 500 and timeout_ms to 1000, and is absent unless set', () => {
    const { load: withIt } = load(`collector:\n  files:\n    - include: [/var/log/app.log]\n      multiline:\n        start_pattern: '${DATED}'\n`);
    expect(withIt().collector.files[0]!.multiline).toEqual({ start_pattern: DATED, max_lines: 500, timeout_ms: 1000 });
    const { load: without } = load('collector:\n  files:\n    - include: [/var/log/app.log]\n');
    expect(without().collector.files[0]!.multiline).toBeUndefined();
  });

  test('refuses a start_pattern that does not compile, naming the key and line', () => {
    const { file, load: bad } = load(`collector:\n  files:\n    - include: [/var/log/app.log]\n      multiline:\n        start_pattern: '^(unclosed'\n`);
    let err: unknown;
    try {
      bad();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues).toEqual([
      { key: 'collector.files.0.multiline.start_pattern', message: expect.stringMatching(/^does not compile: .*unclosed|Unterminated group/), source: `${file}:5:9` },
    ]);
  });

  test('refuses max_lines 0 and unknown keys such as mode', () => {
    const { load: bad } = load(`collector:\n  files:\n    - include: [/var/log/app.log]\n      multiline:\n        start_pattern: '^\\S'\n        max_lines: 0\n        mode: halt_before\n`);
    let err: unknown;
    try {
      bad();
    } catch (e) {
      err = e;
    }
    expect((err as ConfigError).issues.map((i) => [i.key, i.message])).toEqual(
      expect.arrayContaining([
        ['collector.files.0.multiline.max_lines', expect.stringMatching(/>=\s*1|at least 1|too small/i)],
        ['collector.files.0.multiline.mode', 'unknown key'],
      ]),
    );
  });
});
