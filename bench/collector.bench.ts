/**
 * `npm run bench:collector`: lines/s and MB/s from a file to Kafka, CPU seconds and peak memory,
 * for Pharos's collector and for kcat (librdkafka, `kcat -P -l`: one message per line) on the
 * same file, against the same local broker, in the same run. Prints Pharos's rate as a ratio of
 * kcat's. BENCH_LINES (default 500,000) 200-byte lines; BENCH_CPU_PROF=DIR profiles the collector
 * run. The collector runs with its defaults; to compare settings: BENCH_COMPRESSION (lz4, gzip,
 * none), BENCH_BATCH and BENCH_BATCH_BYTES (batch.max_records, max_bytes), BENCH_NODE_FLAGS.
 * BENCH_COMPARE="NAME=VALUE ..." adds a second collector run to every round, with those
 * variables set (`BENCH_COMPARE="BENCH_COMPRESSION=lz4"`): two settings compared in one run, on
 * the same broker at the same moment, where figures of separate runs differ by the machine's mood.
 * BENCH_BUS=null runs the collector into a bus that builds each batch and acknowledges it at
 * once: `BENCH_COMPARE="BENCH_BUS=null"` shows what the broker and the network cost.
 * BENCH_SEPARATE_BROKERS=1 gives kcat a broker of its own, in case one producer's traffic
 * changed how the shared broker serves the other (it did not, in the runs that tried it).
 *
 * The collector is a daemon, measured as it runs once started: in each of its runs a first
 * collector in the same process tails BENCH_WARMUP_LINES (default 50,000) other lines into the
 * same topic before the clock starts, so V8 has compiled the hot code (kcat is compiled ahead of
 * time). That warm-up is printed as well: its lines/s are the cold start's. BENCH_WARMUP_LINES=0
 * measures the cold process (`BENCH_COMPARE="BENCH_WARMUP_LINES=0"` shows both in one run).
 *
 * The machine is small and noisy (kcat alone has ranged 170k–1.3M lines/s between runs), so the
 * two take turns BENCH_RUNS times (default 5), each on a topic of its own, and the figures are
 * each one's median run. A first round is not counted: the broker's JIT warms up over the first
 * few hundred MB (its CPU for the same kcat run fell from 1.14 to 0.60 s over five rounds), and
 * a round on a cold broker would measure the JVM, not the producers. The broker's CPU during each
 * run is printed too: it shares the two cores with the producer.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { Kafka } from 'kafkajs';
import { createLogger } from '../core/log.js';
import { defaultKafkaCacheDir, freePort, LocalBroker } from '../core/kafka/local-broker.js';
import { machine, printMachine } from './lib/machine.js';
import { writeResults } from './lib/results.js';

const run = promisify(execFile);
const LINES = Number(process.env.BENCH_LINES ?? 500_000);
const LINE_BYTES = 200;
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 5));
const WARMUP_LINES = Math.max(0, Number(process.env.BENCH_WARMUP_LINES ?? 50_000));

interface Figures {
  /** CPU the broker spent during the run: its share of the machine's two cores. */
  broker_cpu_seconds?: number;
  seconds: number;
  cpu_seconds: number;
  max_rss_mb: number;
  lines_per_s: number;
  mb_per_s: number;
  /** The collector's warm-up before the clock started (a cold process): lines/s. */
  warmup_lines_per_s?: number;
}

async function writeLines(path: string, lines: number, first = 0): Promise<void> {
  const out = createWriteStream(path);
  const pad = 'x'.repeat(LINE_BYTES);
  for (let i = first; i < first + lines; i++) {
    const head = `2026-11-23T10:00:00.${String(i % 1000).padStart(3, '0')}Z INFO req=${i} path=/api/orders/${i % 977} status=200 msg=`;
    if (!out.write(head + pad.slice(head.length + 1) + '\n')) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r) => out.end(r));
}

async function createTopic(brokers: string[], topic: string): Promise<void> {
  const admin = new Kafka({ brokers, logLevel: 0 }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();
}

async function kcat(broker: string, topic: string, file: string, bytes: number): Promise<Figures> {
  // GNU time prints wall seconds, user and system CPU seconds, and peak RSS in KiB.
  const { stderr } = await run('/usr/bin/time', ['-f', 'TIME %e %U %S %M', 'kcat', '-P', '-b', broker, '-t', topic, '-X', 'acks=all', '-l', file], { maxBuffer: 16 * 1024 * 1024 });
  const m = /TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(stderr);
  if (!m) throw new Error(`kcat: no timing in its output:\n${stderr.slice(-2000)}`);
  const seconds = Number(m[1]);
  return { seconds, cpu_seconds: Number(m[2]) + Number(m[3]), max_rss_mb: Number(m[4]) / 1024, lines_per_s: LINES / seconds, mb_per_s: bytes / 1e6 / seconds };
}

/**
 * The collector run as compiled JavaScript, as `pharos collector` runs from dist/: one bundle of
 * bench/collector-run.ts (packages left to node_modules), so the figures carry no TypeScript
 * loader (tsx's loader thread alone adds tens of MB and its own CPU).
 */
async function bundleCollectorRun(): Promise<string> {
  const outfile = join(import.meta.dirname, '..', 'node_modules', '.cache', 'pharos-bench', 'collector-run.mjs');
  await build({ entryPoints: [join(import.meta.dirname, 'collector-run.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', outfile, logLevel: 'error' });
  return outfile;
}

/** BENCH_COMPARE's variables, or undefined. */
function compareEnv(): Record<string, string> | undefined {
  const spec = process.env.BENCH_COMPARE?.trim();
  if (!spec) return undefined;
  return Object.fromEntries(
    spec.split(/\s+/).map((pair) => {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error(`BENCH_COMPARE: "${pair}" is not NAME=VALUE`);
      return [pair.slice(0, eq), pair.slice(eq + 1)];
    }),
  );
}

async function pharos(broker: string, topic: string, file: string, bytes: number, env?: Record<string, string>): Promise<Figures> {
  const warmupLines = Number(env?.BENCH_WARMUP_LINES ?? WARMUP_LINES);
  // BENCH_CPU_PROF=DIR: collector-run.ts writes a V8 CPU profile of the measured run there (open it in Chrome DevTools).
  const nodeFlags = env?.BENCH_NODE_FLAGS ?? process.env.BENCH_NODE_FLAGS;
  const child = spawn(process.execPath, [...(nodeFlags ? nodeFlags.split(' ') : []), await bundleCollectorRun(), broker, topic, file, String(LINES), warmupFile, String(Math.min(warmupLines, WARMUP_LINES))], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  const line = out.trim().split('\n').pop() ?? '';
  if (code !== 0) throw new Error(`collector run exited ${code}: ${out.slice(-2000)}`);
  const r = JSON.parse(line) as { seconds: number; cpu_seconds: number; max_rss_mb: number; send_seconds: number; sends: number; warmup?: { lines: number; seconds: number; cpu_seconds: number } };
  const w = r.warmup;
  const warm = w ? `; warm-up ${w.lines.toLocaleString('en')} lines at ${Math.round(w.lines / w.seconds).toLocaleString('en')} lines/s (${w.cpu_seconds.toFixed(2)} CPU-s, cold process)` : '; cold process';
  console.log(`pharos: ${r.sends} sends to Kafka, ${r.send_seconds.toFixed(2)} s waiting for their acknowledgements (${((1000 * r.send_seconds) / Math.max(1, r.sends)).toFixed(1)} ms each)${warm}`);
  const { warmup: _, ...figures } = r;
  return { ...figures, ...(w ? { warmup_lines_per_s: w.lines / w.seconds } : {}), lines_per_s: LINES / r.seconds, mb_per_s: bytes / 1e6 / r.seconds };
}

/** The run with the median rate (the lower middle one for an even count): its figures stay one run's. */
function median(figures: Figures[]): Figures {
  const sorted = [...figures].sort((a, b) => a.lines_per_s - b.lines_per_s);
  return sorted[(sorted.length - 1) >> 1]!;
}

/** User and system CPU seconds of process `pid` so far (Linux /proc; clock ticks of 1/100 s). */
function cpuSecondsOf(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function withBrokerCpu(pid: number | undefined, run: () => Promise<Figures>): Promise<Figures> {
  const before = cpuSecondsOf(pid);
  const f = await run();
  return { ...f, broker_cpu_seconds: cpuSecondsOf(pid) - before };
}

const m = machine();
printMachine(m);
const dir = mkdtempSync(join(tmpdir(), 'pharos-bench-'));
const file = join(dir, 'lines.log');
await writeLines(file, LINES);
// Other lines than the measured ones (their own req= numbers), in a file of their own.
const warmupFile = join(dir, 'warmup.log');
await writeLines(warmupFile, WARMUP_LINES, LINES);
const bytes = statSync(file).size;
console.log(`input: ${LINES.toLocaleString('en')} lines of ${LINE_BYTES} bytes (${(bytes / 1e6).toFixed(1)} MB); collector warm-up before the clock: ${WARMUP_LINES.toLocaleString('en')} other lines`);

const startBroker = async (name: string) =>
  LocalBroker.start({
    version: '3.9.1',
    port: await freePort(),
    controllerPort: await freePort(),
    cacheDir: defaultKafkaCacheDir(),
    dataDir: join(dir, name),
    log: createLogger({ level: 'warn' }),
  });
const broker = await startBroker('kafka');
// The peer and GNU time, which measures it; without them the collector runs alone, with a note.
const peerMissing = ['kcat', '/usr/bin/time'].find((bin) => spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0);
if (peerMissing) console.log(`${peerMissing} is not installed (apt-get install kcat time): kcat skipped, no ratio printed`);
// BENCH_SEPARATE_BROKERS=1: kcat gets a broker of its own (same version and settings).
const kcatBroker = process.env.BENCH_SEPARATE_BROKERS === '1' && !peerMissing ? await startBroker('kafka-kcat') : broker;
if (kcatBroker !== broker) console.log('kcat and Pharos on separate brokers');
try {
  const address = broker.brokers[0]!;
  const variant = compareEnv();
  const runs: { kcat: Figures[]; pharos: Figures[]; variant: Figures[] } = { kcat: [], pharos: [], variant: [] };
  for (let i = 0; i <= RUNS; i++) {
    if (!peerMissing) await createTopic(kcatBroker.brokers, `bench.kcat.${i}`);
    await createTopic(broker.brokers, `bench.pharos.${i}`);
    if (variant) await createTopic(broker.brokers, `bench.variant.${i}`);
    const k = peerMissing ? undefined : await withBrokerCpu(kcatBroker.pid, () => kcat(kcatBroker.brokers[0]!, `bench.kcat.${i}`, file, bytes));
    // The variant goes first in odd rounds: neither side always follows kcat.
    const v1 = variant && i % 2 === 1 ? await withBrokerCpu(broker.pid, () => pharos(address, `bench.variant.${i}`, file, bytes, variant)) : undefined;
    const p = await withBrokerCpu(broker.pid, () => pharos(address, `bench.pharos.${i}`, file, bytes));
    const v = v1 ?? (variant ? await withBrokerCpu(broker.pid, () => pharos(address, `bench.variant.${i}`, file, bytes, variant)) : undefined);
    if (i === 0) {
      console.log(`warm-up round (not counted): ${k ? `kcat ${Math.round(k.lines_per_s).toLocaleString('en')}, ` : ''}pharos ${Math.round(p.lines_per_s).toLocaleString('en')} lines/s`);
      continue;
    }
    if (k) runs.kcat.push(k);
    runs.pharos.push(p);
    if (v) runs.variant.push(v);
  }
  const fmt = (name: string, f: Figures) =>
    `${name.padEnd(8)} ${Math.round(f.lines_per_s).toLocaleString('en').padStart(9)} lines/s  ${f.mb_per_s.toFixed(1).padStart(6)} MB/s  ${f.seconds.toFixed(2)} s  CPU ${f.cpu_seconds.toFixed(2)} s  peak RSS ${Math.round(f.max_rss_mb)} MB  broker CPU ${f.broker_cpu_seconds?.toFixed(2)} s${f.warmup_lines_per_s ? `  (warm-up, cold: ${Math.round(f.warmup_lines_per_s).toLocaleString('en')} lines/s)` : ''}`;
  if (RUNS > 1) {
    for (let i = 0; i < RUNS; i++) console.log(`run ${i + 1}: ${[...(runs.kcat[i] ? [fmt('kcat', runs.kcat[i]!)] : []), fmt('pharos', runs.pharos[i]!), ...(variant ? [fmt('variant', runs.variant[i]!)] : [])].join('\n       ')}`);
    console.log(`median of ${RUNS} runs:`);
  }
  const k = runs.kcat.length > 0 ? median(runs.kcat) : undefined;
  const p = median(runs.pharos);
  if (k) console.log(fmt('kcat', k));
  console.log(fmt('pharos', p));
  const ratio = k ? p.lines_per_s / k.lines_per_s : null;
  if (k) console.log(`pharos / kcat: ${(p.lines_per_s / k.lines_per_s).toFixed(2)}× the rate, ${(p.cpu_seconds / k.cpu_seconds).toFixed(2)}× the CPU`);
  const v = variant ? median(runs.variant) : undefined;
  if (v) {
    console.log(fmt('variant', v));
    // Round by round as well as of the medians: the two ran back to back on the same broker.
    const perRound = runs.variant.map((f, i) => f.lines_per_s / runs.pharos[i]!.lines_per_s);
    console.log(`variant (${process.env.BENCH_COMPARE}) / pharos: ${(v.lines_per_s / p.lines_per_s).toFixed(2)}× the rate (by round: ${perRound.map((r) => r.toFixed(2)).join(', ')})${k ? `, variant / kcat: ${(v.lines_per_s / k.lines_per_s).toFixed(2)}×` : ''}`);
  }
  const path = writeResults('collector', { machine: m, lines: LINES, line_bytes: LINE_BYTES, runs: RUNS, kcat: k ?? null, pharos: p, ratio_rate: ratio, ...(v ? { variant: { env: process.env.BENCH_COMPARE, figures: v } } : {}), all_runs: runs });
  console.log(`results: ${path}`);
} finally {
  await broker.stop();
  if (kcatBroker !== broker) await kcatBroker.stop();
  // 100 MB of input and the broker's log: gone with the run.
  rmSync(dir, { recursive: true, force: true });
}
