/**
 * The fuzz harness shared by test/fuzz/*.fuzz.test.ts: run budgets, input generators (random text,
 * random bytes, mutations of valid samples) and the property every parser must hold — it returns
 * a value or throws its own typed error with a message, never a TypeError/RangeError/stack
 * overflow, and never takes long on a small input.
 *
 * Reproducible by default: a fixed seed and a fixed number of runs per property, with a time
 * limit as a backstop on a slow machine. For a long local run:
 *
 *   PHAROS_FUZZ_MS=60000 PHAROS_FUZZ_SEED=$RANDOM npm run test:fuzz
 *
 * (These tests need no Kafka: any PHAROS_TEST_KAFKA_BROKERS value skips starting the test broker.)
 * (PHAROS_FUZZ_MS is the time per property; with it set, runs are unlimited within that time.
 * PHAROS_FUZZ_CALL_MS is the cap on one call, 1000 ms by default.) A failure prints fast-check's
 * seed and path: rerun with that seed to replay it.
 */
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { beforeAll, test } from 'vitest';

const envInt = (name: string): number | undefined => {
  const v = process.env[name];
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`${name}=${JSON.stringify(v)} is not an integer`);
  return n;
};

export const FUZZ_SEED = envInt('PHAROS_FUZZ_SEED') ?? 0x5eed_2026;
/** Time per property in a long run; unset in CI, where the run count decides. */
const LONG_RUN_MS = envInt('PHAROS_FUZZ_MS');
/** Backstop per property in CI: on two loaded cores a property stops early rather than overrun. */
const CI_LIMIT_MS = 2_500;
/** One call taking longer than this is a finding (super-linear work): generous, for two loaded cores. */
export const CALL_CAP_MS = envInt('PHAROS_FUZZ_CALL_MS') ?? 1000;
/** One call running this long is a hang: the watchdog kills the test process, naming the input. */
const HANG_MS = 15_000;

export function fuzzParameters<T>(runs: number): fc.Parameters<T> {
  return {
    seed: FUZZ_SEED,
    numRuns: LONG_RUN_MS === undefined ? runs : Number.MAX_SAFE_INTEGER,
    interruptAfterTimeLimit: LONG_RUN_MS ?? CI_LIMIT_MS,
    markInterruptAsFailure: false,
  };
}

/** One property of a parser, as a vitest test, under the budgets above. */
export function fuzz<T>(name: string, arb: fc.Arbitrary<T>, check: (input: T) => void, runs = 400): void {
  beforeAll(startWatchdog);
  const timeout = (LONG_RUN_MS ?? CI_LIMIT_MS) + 30_000;
  // Async, handing the event loop back now and then: a property blocking it for long starves
  // vitest's own worker messages (its RPC times out on a long local run).
  let lastYield = performance.now();
  const property = fc.asyncProperty(arb, async (input) => {
    if (performance.now() - lastYield > 200) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      lastYield = performance.now();
    }
    check(input);
  });
  test(name, () => fc.assert(property, fuzzParameters<[T]>(runs)), timeout);
}

// --- the property ---------------------------------------------------------------------------------

type ErrorClass = abstract new (...args: never[]) => Error;

/** What a parser may never throw, whatever its contract says. */
const CRASHES: readonly ErrorClass[] = [TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError];

export type Outcome<R> = { ok: true; value: R } | { ok: false; error: Error };

/**
 * Calls `fn` on `input` and holds it to the contract: a value, or an error that is an instance of
 * one of `allowed` (none: it must not throw) and carries a message. Time is capped per call.
 */
export function expectTyped<R>(what: string, input: unknown, fn: () => R, ...allowed: ErrorClass[]): Outcome<R> {
  const outcome = timed(what, input, fn);
  if (outcome.ok) return outcome;
  const err = outcome.error;
  const crash = CRASHES.find((c) => err.constructor === c);
  if (crash || !allowed.some((c) => err instanceof c)) {
    const expected = allowed.length ? allowed.map((c) => c.name).join(' | ') : 'no error at all';
    throw new Error(`${what} threw ${err.name}: ${err.message} (expected ${expected})\n${err.stack ?? ''}`, { cause: err });
  }
  if (typeof err.message !== 'string' || err.message.trim() === '') throw new Error(`${what} threw ${err.name} without a message`);
  return outcome;
}

/** Runs `fn` once, under the watchdog and the per-call cap (a slow call is retried once: a GC pause is not a finding). */
export function timed<R>(what: string, input: unknown, fn: () => R): Outcome<R> {
  const first = measure(what, input, fn);
  if (first.ms <= CALL_CAP_MS) return first.outcome;
  const again = measure(what, input, fn);
  if (again.ms <= CALL_CAP_MS) return again.outcome;
  throw new Error(`${what} took ${Math.round(again.ms)} ms on one input (cap ${CALL_CAP_MS} ms): ${preview(input)}`);
}

function measure<R>(what: string, input: unknown, fn: () => R): { ms: number; outcome: Outcome<R> } {
  arm(what, input);
  const start = performance.now();
  let outcome: Outcome<R>;
  try {
    outcome = { ok: true, value: fn() };
  } catch (err) {
    outcome = { ok: false, error: err instanceof Error ? err : new Error(`non-Error thrown: ${String(err)}`) };
  } finally {
    disarm();
  }
  return { ms: performance.now() - start, outcome };
}

export function preview(input: unknown, max = 2000): string {
  if (input instanceof Uint8Array) return `bytes(${input.length}) ${Buffer.from(input.subarray(0, max / 2)).toString('hex')}`;
  let s: string;
  try {
    s = JSON.stringify(input, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v)) ?? String(input);
  } catch {
    s = String(input);
  }
  return s.length > max ? `${s.slice(0, max)}… (${s.length} chars)` : s;
}

// --- the watchdog ---------------------------------------------------------------------------------

// A synchronous parser stuck in a regex never yields, so no timer of this thread can fire: a
// worker thread watches a deadline in shared memory and kills the process, printing the input.
const INPUT_BYTES = 8192;
const shared = new SharedArrayBuffer(8 + 4 + INPUT_BYTES);
const deadline = new Float64Array(shared, 0, 1);
const inputLength = new Int32Array(shared, 8, 1);
const inputBytes = new Uint8Array(shared, 12, INPUT_BYTES);
const encoder = new TextEncoder();
let watchdog: Promise<void> | undefined;

const WATCHDOG_SOURCE = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const deadline = new Float64Array(workerData.shared, 0, 1);
const length = new Int32Array(workerData.shared, 8, 1);
const bytes = new Uint8Array(workerData.shared, 12);
setInterval(() => {
  const d = deadline[0];
  if (d > 0 && Date.now() > d) {
    const text = new TextDecoder().decode(bytes.slice(0, Atomics.load(length, 0)));
    fs.writeSync(2, '\\nfuzz watchdog: one call ran over ' + workerData.hangMs + ' ms (a hang); killing the test process. ' + text + '\\n');
    process.kill(process.pid, 'SIGKILL');
  }
}, 250);
`;

function startWatchdog(): Promise<void> {
  watchdog ??= new Promise<void>((resolve, reject) => {
    const w = new Worker(WATCHDOG_SOURCE, { eval: true, workerData: { shared, hangMs: HANG_MS } });
    w.once('online', () => {
      w.unref();
      resolve();
    });
    w.once('error', reject);
  });
  return watchdog;
}

function arm(what: string, input: unknown): void {
  const { written } = encoder.encodeInto(`${what} on input: ${preview(input, 3000)}`, inputBytes);
  Atomics.store(inputLength, 0, written);
  deadline[0] = Date.now() + HANG_MS;
}

function disarm(): void {
  deadline[0] = 0;
}

// --- input generators -----------------------------------------------------------------------------

/** Any UTF-16 code unit, lone surrogates included (what a JS string can hold). */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
/** The characters parsers care about, over-weighted so random text hits their branches. */
const SPECIAL = ['"', "'", '\\', '=', ' ', '\t', '\n', '\r', '{', '}', '[', ']', '(', ')', ':', ',', '.', '-', '+', '%', '@', '#', '$', '|', '`', '\u0000', '\ufeff', '\u2028', '\ud800', '\udfff', 'é', '😀'];

export function randomText(maxLength = 200): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: 'binary', maxLength }),
    fc.string({ unit: codeUnit, maxLength }),
    fc.string({ unit: fc.oneof(fc.constantFrom(...SPECIAL), fc.constantFrom(...'abcxyz019')), maxLength }),
    // Random bytes as file-tail reads them (lenient UTF-8: invalid sequences become U+FFFD) and as latin1.
    randomBytes(maxLength).map((b) => Buffer.from(b).toString('utf8')),
    randomBytes(maxLength).map((b) => Buffer.from(b).toString('latin1')),
  );
}

export function randomBytes(maxLength = 512): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ maxLength });
}

type Op =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'delete'; at: number; len: number }
  | { kind: 'duplicate'; at: number; len: number; times: number }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'splice'; at: number; other: number; from: number; len: number };

const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0x22, 0x5c, 0x0a, 0x3d, 0x7b, 0x7d];

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.oneof(fc.constantFrom(...INTERESTING), fc.nat(255)) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 64 }), times: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.array(fc.oneof(fc.constantFrom(...INTERESTING), fc.nat(255)), { minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), other: fc.nat(), from: fc.nat(), len: fc.integer({ min: 1, max: 64 }) }),
);

function applyOps(base: Uint8Array, ops: readonly Op[], corpus: readonly Uint8Array[]): Uint8Array {
  let b = Array.from(base);
  const pos = (at: number, extra = 0) => (b.length + extra === 0 ? 0 : at % (b.length + extra));
  for (const op of ops) {
    switch (op.kind) {
      case 'flip':
        if (b.length) b[pos(op.at)]! ^= 1 << op.bit;
        break;
      case 'set':
        if (b.length) b[pos(op.at)] = op.value;
        break;
      case 'truncate':
        b = b.slice(0, pos(op.at));
        break;
      case 'delete':
        if (b.length) b.splice(pos(op.at), op.len);
        break;
      case 'duplicate': {
        if (!b.length) break;
        const at = pos(op.at);
        const chunk = b.slice(at, at + op.len);
        const copies: number[] = [];
        for (let i = 0; i < op.times; i++) copies.push(...chunk);
        b.splice(at, 0, ...copies);
        break;
      }
      case 'insert':
        b.splice(pos(op.at, 1), 0, ...op.bytes);
        break;
      case 'splice': {
        const other = corpus[op.other % corpus.length]!;
        const from = other.length ? op.from % other.length : 0;
        b.splice(pos(op.at, 1), 0, ...other.subarray(from, from + op.len));
        break;
      }
    }
  }
  return Uint8Array.from(b);
}

/** Valid samples with a few byte-level mutations: bit flips, truncation, duplication, splicing. */
export function mutatedBytes(corpus: readonly Uint8Array[] | fc.Arbitrary<Uint8Array>, maxOps = 4): fc.Arbitrary<Uint8Array> {
  if (!Array.isArray(corpus)) {
    return fc.tuple(corpus as fc.Arbitrary<Uint8Array>, fc.array(opArb, { minLength: 1, maxLength: maxOps })).map(([base, ops]) => applyOps(base, ops, [base]));
  }
  const list = corpus as readonly Uint8Array[];
  return fc.tuple(fc.constantFrom(...list), fc.array(opArb, { minLength: 1, maxLength: maxOps })).map(([base, ops]) => applyOps(base, ops, list));
}

/** The same over text samples: mutated as UTF-8 bytes, read back leniently (or as latin1, keeping every byte). */
export function mutatedText(corpus: readonly string[] | fc.Arbitrary<string>, maxOps = 4): fc.Arbitrary<string> {
  const bytes = Array.isArray(corpus)
    ? mutatedBytes((corpus as readonly string[]).map((s) => encoder.encode(s)), maxOps)
    : mutatedBytes((corpus as fc.Arbitrary<string>).map((s) => encoder.encode(s)), maxOps);
  return fc.tuple(bytes, fc.nat(9)).map(([b, how]) => Buffer.from(b).toString(how === 0 ? 'latin1' : 'utf8'));
}

/** Random text, mutated samples and untouched samples, in one input stream. */
export function textInputs(corpus: readonly string[], maxLength = 200): fc.Arbitrary<string> {
  return fc.oneof({ arbitrary: randomText(maxLength), weight: 2 }, { arbitrary: mutatedText(corpus), weight: 3 }, { arbitrary: fc.constantFrom(...corpus), weight: 1 });
}

/** Text of `fragments` joined in random order and number: grammar-shaped input from valid pieces. */
export function fromFragments(fragments: readonly string[], maxPieces = 12): fc.Arbitrary<string> {
  return fc.array(fc.constantFrom(...fragments), { minLength: 1, maxLength: maxPieces }).map((p) => p.join(''));
}

/** Bytes allocated while `fn` runs (heap plus buffers), for "a length prefix must not allocate" checks. */
export function allocatedBy(fn: () => void): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage();
  fn();
  const after = process.memoryUsage();
  return Math.max(0, after.heapUsed - before.heapUsed) + Math.max(0, after.arrayBuffers - before.arrayBuffers);
}
