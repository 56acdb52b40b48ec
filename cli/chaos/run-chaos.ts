/**
 * `pharos chaos`: the stack as separate processes on a real local Kafka broker (pipeline with the
 * embedded chDB engine, collector, alert evaluator), generators of numbered lines and samples, a
 * schedule of faults, and at the end the checks: every line in ClickHouse exactly once, every
 * sample in the warehouse and the real-time store, the chaos alert paged once and resolved once.
 * Loopback only, bounded in time; stops everything it started, also on failure.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { stringify } from 'yaml';
import { createClickHouse } from '../../core/clickhouse/client.js';
import { validateConfig } from '../../core/config/load.js';
import { DEFAULT_KAFKA_VERSION, defaultKafkaCacheDir, freePort, LocalBroker } from '../../core/kafka/local-broker.js';
import type { Logger } from '../../core/log.js';
import { checkLogs, checkPages, checkRealtime, checkWarehouseMetrics, type CheckResult } from './checks.js';
import { ComponentProcess } from './component-process.js';
import { LineGenerator, MetricGenerator, SEQ_METRIC, SIGNAL_METRIC } from './generators.js';
import { PageReceiver } from './page-receiver.js';
import type { Fault, FaultTarget, Scenario } from './scenario.js';

export interface ChaosOptions {
  scenario: Scenario;
  workDir: string;
  log: Logger;
  /**
   * Self-test of the checks: the pipeline inserts without deduplication tokens, so a replay after
   * a crash between insert and commit stores rows twice — the run must then fail.
   */
  breakDeduplication?: boolean;
}

export interface ChaosReport {
  scenario: string;
  run: string;
  ok: boolean;
  checks: CheckResult[];
  faults: Array<{ at_s: number; target: FaultTarget; action: string; done: boolean; note?: string }>;
  generated: { lines: number; metricTicks: number; metricSeries: number; rotations: number };
  durationS: number;
  workDir: string;
}

const ALERT_NAME = 'ChaosSignal';
const DATABASE = 'pharos';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const { scenario, log } = opts;
  const started = Date.now();
  const run = randomBytes(4).toString('hex');
  const workDir = resolve(opts.workDir);
  mkdirSync(workDir, { recursive: true });
  const cleanups: Array<() => Promise<void>> = [];
  const faultLog: ChaosReport['faults'] = [];
  let spoolFills = 0;

  try {
    // The broker: real Kafka in KRaft mode on loopback, restartable on the same ports and data.
    const brokerPorts = { port: await freePort(), controllerPort: await freePort() };
    const brokerOptions = { version: DEFAULT_KAFKA_VERSION, ...brokerPorts, cacheDir: defaultKafkaCacheDir(), dataDir: join(workDir, 'kafka'), log };
    let broker = await LocalBroker.start(brokerOptions);
    cleanups.push(() => broker.stop());
    const brokers = broker.brokers;
    log.info({ brokers, run }, 'chaos: broker up');

    const receiver = await PageReceiver.start();
    cleanups.push(() => receiver.close());

    const pipelinePort = await freePort();
    const collectorPort = await freePort();
    const common = { node_name: 'chaos-host', log: { level: 'info' }, kafka: { brokers, partitions: 2 }, clickhouse: { database: DATABASE } };
    const rules = join(workDir, 'chaos-rules.yaml');
    writeFileSync(rules, stringify({ groups: [{ name: 'chaos', interval: '1s', rules: [{ alert: ALERT_NAME, expr: `${SIGNAL_METRIC}{run="${run}"} > 0`, labels: { severity: 'page' } }] }] }));
    const logFile = join(workDir, 'generated.log');
    const configs = {
      pipeline: { ...common, data_dir: join(workDir, 'pipeline'), pipeline: { listen: `127.0.0.1:${pipelinePort}`, warehouse: { batch_ms: 250 } } },
      collector: {
        ...common,
        data_dir: join(workDir, 'collector'),
        // The smallest spool (1 MiB), so a fill_spool fault fills it within seconds.
        collector: { listen: `127.0.0.1:${collectorPort}`, self_logs: false, host_metrics: { enabled: false }, poll_ms: 100, files: [{ include: [logFile], service: 'chaos', start_at: 'beginning' }], spool: { max_bytes: 1024 * 1024 } },
      },
      alerts: {
        ...common,
        data_dir: join(workDir, 'alerts'),
        alerts: {
          listen: `127.0.0.1:${await freePort()}`,
          rule_files: [rules],
          default_rules: false,
          evaluation_interval_ms: 1000,
          notify: { route: { receiver: 'chaos', group_wait: '0s', group_interval: '1s', repeat_interval: '1h' }, receivers: [{ name: 'chaos', webhook_configs: [{ url: receiver.url }] }] },
        },
      },
    };
    const processes = {} as Record<Exclude<FaultTarget, 'broker'>, ComponentProcess>;
    for (const [name, config] of Object.entries(configs) as Array<[keyof typeof configs, object]>) {
      validateConfig(config); // a wrong key here is a bug of this file: fail before starting anything
      const file = join(workDir, `${name}.yaml`);
      writeFileSync(file, stringify(config));
      processes[name] = new ComponentProcess({ command: name, configFile: file, workDir, env: opts.breakDeduplication && name === 'pipeline' ? { PHAROS_FAULT_NO_DEDUP_TOKEN: '1' } : {} });
      cleanups.push(() => processes[name].stop());
    }
    const lines = new LineGenerator(logFile, run, scenario.lines_per_s);
    const metrics = new MetricGenerator(brokers, 'pharos.metrics', run, scenario.metric_series);
    cleanups.push(() => metrics.stop(5_000).catch(() => undefined));

    await createTopics(brokers, common.kafka.partitions);
    for (const p of Object.values(processes)) p.start();
    const pipelineBase = `http://127.0.0.1:${pipelinePort}`;
    await waitUntil('the pipeline to answer /readyz', 90_000, async () => (await fetch(`${pipelineBase}/readyz`).catch(() => undefined))?.ok === true);
    log.info({ workDir }, 'chaos: stack up, generating');

    // Generation with the fault schedule.
    const genStart = Date.now();
    lines.start();
    await metrics.start();
    const at = (s: number) => sleep(Math.max(0, genStart + s * 1000 - Date.now()));
    const timeline: Array<{ at_s: number; run: () => Promise<void> }> = [
      { at_s: scenario.alert_fire_s, run: async () => void (metrics.signalHigh = true) },
      { at_s: scenario.alert_clear_s, run: async () => void (metrics.signalHigh = false) },
      ...scenario.faults.map((f) => ({ at_s: f.at_s, run: () => applyFault(f) })),
    ].sort((a, b) => a.at_s - b.at_s);

    async function applyFault(f: Fault): Promise<void> {
      const entry: ChaosReport['faults'][number] = { at_s: f.at_s, target: f.target, action: f.action, done: false };
      faultLog.push(entry);
      log.info({ fault: f }, 'chaos: fault');
      if (f.target === 'broker') {
        if (f.action === 'pause') {
          process.kill(broker.pid!, 'SIGSTOP');
          await sleep(f.down_s * 1000);
          process.kill(broker.pid!, 'SIGCONT');
        } else {
          if (f.action === 'kill') process.kill(broker.pid!, 'SIGKILL');
          else await broker.stop();
          await broker.exited;
          await sleep(f.down_s * 1000);
          broker = await LocalBroker.start(brokerOptions);
        }
      } else if (f.action === 'rotate') {
        lines.rotate();
      } else if (f.action === 'fill_spool') {
        const full = () => collectorCounter(collectorPort, 'pharos_collector_spool_full_total');
        const before = await full();
        lines.setRate(scenario.lines_per_s * f.burst);
        process.kill(broker.pid!, 'SIGKILL');
        await broker.exited;
        // Down until the spool has filled (the collector first retries its sends for a while), at most down_s.
        const until = Date.now() + f.down_s * 1000;
        while (Date.now() < until && (await full()) <= before) await sleep(500);
        const filled = (await full()) - before;
        spoolFills += filled;
        entry.note = filled > 0 ? `the spool filled (${filled}×): file reading paused until it drained` : 'the spool did not fill during the outage';
        lines.setRate(scenario.lines_per_s);
        broker = await LocalBroker.start(brokerOptions);
      } else {
        const p = processes[f.target];
        if (f.action === 'pause') {
          p.pause();
          await sleep(f.down_s * 1000);
          p.resume();
        } else if (f.action === 'crash_after_insert') {
          await p.stop();
          p.start({ PHAROS_FAULT_KILL_AFTER_INSERT: '1' }, true);
          const died = await Promise.race([p.waitExit().then(() => true), sleep(60_000).then(() => false)]);
          if (!died) entry.note = 'the pipeline made no insert within 60 s, so it did not crash';
          await p.stop();
          p.start();
        } else {
          if (f.action === 'kill') await p.kill();
          else await p.stop();
          await sleep(f.down_s * 1000);
          p.start();
        }
      }
      entry.done = true;
    }

    // Faults overlap generation: each runs in the background from its start time.
    const running: Array<Promise<void>> = [];
    for (const step of timeline) {
      await at(step.at_s);
      running.push(step.run());
    }
    await at(scenario.duration_s);
    lines.stop();
    await Promise.all(running);
    await metrics.stop();
    log.info({ lines: lines.written, ticks: metrics.ticks }, 'chaos: generation done, waiting for the stack to settle');

    // Settled: the collector has read the file to its end, and the warehouse's group has consumed
    // every message of both topics, both unchanged for a few seconds.
    await waitForSettled(brokers, processes.collector, scenario.settle_timeout_s * 1000, log);
    await waitUntil('the real-time store to be ready', 60_000, async () => (await fetch(`${pipelineBase}/readyz`).catch(() => undefined))?.ok === true);
    // The resolve may still be on its way (group_interval 1 s).
    await waitUntil('the resolve notification', 15_000, async () => receiver.count(ALERT_NAME, 'resolved') > 0).catch(() => undefined);

    const checks: CheckResult[] = [];
    const windowS = Math.ceil((Date.now() - genStart) / 1000) + 60;
    checks.push(await checkRealtime(pipelineBase, SEQ_METRIC, run, scenario.metric_series, metrics.ticks, windowS, Math.ceil(Date.now() / 1000)));
    checks.push(checkPages(ALERT_NAME, receiver.count(ALERT_NAME, 'firing'), receiver.count(ALERT_NAME, 'resolved')));

    // The embedded engine belongs to the pipeline process: stop it, then open its data here.
    for (const p of Object.values(processes)) await p.stop();
    const crashed = Object.values(processes).filter((p) => p.unexpectedExits > 0);
    checks.push({ name: 'no process died on its own', ok: crashed.length === 0, detail: crashed.length ? crashed.map((p) => `${p.name} exited unexpectedly ${p.unexpectedExits}× (see ${p.logFile})`).join('; ') : 'every process exited only when told to' });
    const ch = createClickHouse(validateConfig(configs.pipeline), log, 'query');
    try {
      checks.push(await checkLogs(ch, DATABASE, run, lines.written));
      checks.push(await checkWarehouseMetrics(ch, DATABASE, SEQ_METRIC, run, scenario.metric_series, metrics.ticks, metrics.ambiguousTicks));
    } finally {
      await ch.close();
    }
    if (scenario.faults.some((f) => f.action === 'fill_spool')) {
      checks.push({ name: 'the collector’s spool filled and nothing was dropped', ok: spoolFills > 0, detail: `pharos_collector_spool_full_total rose by ${spoolFills} during the fill_spool fault(s); the logs check above says whether every line still arrived` });
    }
    const ok = checks.every((c) => c.ok) && faultLog.every((f) => f.done);
    return {
      scenario: scenario.name,
      run,
      ok,
      checks,
      faults: faultLog,
      generated: { lines: lines.written, metricTicks: metrics.ticks, metricSeries: scenario.metric_series, rotations: lines.rotations },
      durationS: Math.round((Date.now() - started) / 1000),
      workDir,
    };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => log.warn({ err }, 'chaos: cleanup failed'));
  }
}

async function createTopics(brokers: string[], partitions: number): Promise<void> {
  const admin = new Kafka({ clientId: 'pharos-chaos-admin', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: true, topics: ['pharos.logs', 'pharos.metrics', 'pharos.deadletter'].map((topic) => ({ topic, numPartitions: partitions })) });
  } finally {
    await admin.disconnect();
  }
}

async function waitUntil(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`chaos: gave up waiting for ${what} after ${timeoutMs} ms`);
    await sleep(250);
  }
}

/** The topics' end offsets and the warehouse group's commits agree and stay so for 5 s. */
async function waitForSettled(brokers: string[], collector: ComponentProcess, timeoutMs: number, log: Logger): Promise<void> {
  const admin = new Kafka({ clientId: 'pharos-chaos-settle', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    let last = '';
    let stableSince = Date.now();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const state: string[] = [];
      let lag = 0;
      for (const topic of ['pharos.logs', 'pharos.metrics']) {
        const ends = await admin.fetchTopicOffsets(topic);
        const [committed] = await admin.fetchOffsets({ groupId: 'pharos-warehouse', topics: [topic] });
        for (const e of ends) {
          const c = Number(committed?.partitions.find((p) => p.partition === e.partition)?.offset ?? -1);
          lag += Number(e.high) - Math.max(0, c);
          state.push(`${topic}/${e.partition}:${e.high}`);
        }
      }
      const key = state.join(',');
      if (key !== last || lag > 0 || !collector.running) {
        last = key;
        stableSince = Date.now();
      } else if (Date.now() - stableSince >= 5_000) {
        return;
      }
      if (Date.now() > deadline) {
        log.warn({ lag, offsets: key }, 'chaos: the stack did not settle in time; checking what arrived');
        return;
      }
      await sleep(500);
    }
  } finally {
    await admin.disconnect();
  }
}

/** A counter of the collector's /metrics (summed over its series); 0 when it does not answer. */
async function collectorCounter(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined))?.text().catch(() => '');
  if (!text) return 0;
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name + '{') || line.startsWith(name + ' ')) sum += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
  return sum;
}
