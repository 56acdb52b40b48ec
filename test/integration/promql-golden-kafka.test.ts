/**
 * The PromQL golden test through the real data path: every sample of test/data/promql/*.test is
 * encoded with the wire codec, produced to a real Kafka topic, consumed by the real-time store's
 * ingest into a Head, and every case (functions, aggregations, operators, subqueries, edge cases;
 * expected values computed by hand or checked against Prometheus 2.42 by oracle.test.ts) is
 * evaluated over that Head. The in-memory runner (promqltest.test.ts) checks the engine alone;
 * this one shows nothing on the way (encoding, Kafka, decoding, chunks, the head's postings)
 * changes an answer.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaBus } from '../../core/bus/kafka-bus.js';
import { encodeMetricBatches, wireHeaders } from '../../core/codec/codec.js';
import { createKafka } from '../../core/kafka/client.js';
import { silentLogger } from '../../core/log.js';
import type { MetricSample } from '../../core/model/records.js';
import { validateConfig } from '../../core/config/load.js';
import { createRegistry, type Registry } from '../../core/telemetry/registry.js';
import { startRealtimeIngest, type RealtimeIngest } from '../../pipeline/realtime/ingest.js';
import { Engine } from '../../pipeline/realtime/promql/engine.js';
import { parseTestScript, runCase, type EvalCase, type Load } from '../../pipeline/realtime/promql/promqltest.js';
import { Head } from '../../pipeline/realtime/tsdb/head.js';
import { testBrokers, uniqueTopic } from '../harness/kafka-helpers.js';
import { waitFor } from '../harness/wait.js';

const log = silentLogger();
const dir = join(import.meta.dirname, '..', 'data', 'promql');
const files = readdirSync(dir).filter((f) => f.endsWith('.test')).sort();
const TEN_YEARS = 10 * 365 * 86_400_000;
/**
 * The test data starts at t=0, which OTLP cannot carry (time_unix_nano 0 means "no time", and the
 * decoder refuses it): data and evaluation times move one day later. A day is a multiple of every
 * step, so subquery alignment is unchanged; cases whose answer depends on absolute time are left
 * to the in-memory runner.
 */
const SHIFT_MS = 86_400_000;
const ABSOLUTE_TIME = /@|\b(time|timestamp|minute|hour|day_of_week|day_of_month|day_of_year|days_in_month|month|year)\s*\(/;

function shifted(c: EvalCase): EvalCase {
  return { ...c, atMs: c.atMs + SHIFT_MS, startMs: c.startMs + SHIFT_MS, endMs: c.endMs + SHIFT_MS };
}

function samplesOf(loads: Load[]): MetricSample[] {
  const out: MetricSample[] = [];
  for (const load of loads) {
    for (const s of load.series) {
      const { __name__: name, ...labels } = s.labels;
      s.values.forEach((v, i) => {
        if (v === null) return;
        const timestampMs = SHIFT_MS + i * load.intervalMs;
        out.push(v === 'stale' ? { name: name!, labels, timestampMs, value: NaN, type: 'gauge', stale: true } : { name: name!, labels, timestampMs, value: v, type: 'gauge' });
      });
    }
  }
  return out;
}

async function counted(registry: Registry, name: string): Promise<{ total: number; byLabels: string }> {
  const m = registry.getSingleMetric(name);
  const values = m ? (await m.get()).values.filter((v) => v.value > 0) : [];
  return { total: values.reduce((a, v) => a + v.value, 0), byLabels: values.map((v) => `${JSON.stringify(v.labels)}=${v.value}`).join(' ') };
}

interface Group {
  cases: EvalCase[];
  ingest?: RealtimeIngest;
  problem?: string;
}

describe('PromQL golden cases through Kafka', () => {
  const brokers = testBrokers();
  const kafka = createKafka(validateConfig({ kafka: { brokers } }).kafka, log, brokers);
  const bus = new KafkaBus(kafka, brokers, log);
  const engine = new Engine();
  // Cases sharing one set of loaded series share a topic and a head (16 sets over 7 files).
  const groups = new Map<unknown, Group>();
  const byFile = files.map((file) => {
    const cases = parseTestScript(readFileSync(join(dir, file), 'utf8')).filter((c) => !ABSOLUTE_TIME.test(c.expr));
    for (const c of cases) {
      const g = groups.get(c.loads) ?? { cases: [] };
      g.cases.push(c);
      groups.set(c.loads, g);
    }
    return { file, cases };
  });

  beforeAll(async () => {
    const producer = await bus.producer();
    try {
      // In parallel: each ingest's group join costs a few seconds of waiting, not of work.
      await Promise.all(
        [...groups.entries()].map(async ([loads, g]) => {
          const samples = samplesOf(loads as Load[]);
          const topic = uniqueTopic('promql-golden');
          await bus.ensureTopics([topic], 1);
          for (const value of encodeMetricBatches(samples)) await producer.send(topic, [{ key: Buffer.from('golden'), value: Buffer.from(value), headers: wireHeaders() }]);
          const maxT = Math.max(0, ...samples.map((s) => s.timestampMs));
          const registry = createRegistry();
          // The data lives in January 1970: a clock just after it and a wide window keep every sample.
          g.ingest = await startRealtimeIngest({ bus, head: new Head({ windowMs: TEN_YEARS }), topic, log, registry, now: () => maxT + 60_000, node: 'golden' });
          const want = samples.length;
          const accounted = async () => (await counted(registry, 'pharos_realtime_samples_appended_total')).total + (await counted(registry, 'pharos_realtime_samples_rejected_total')).total;
          await waitFor(`${want} samples of ${topic} appended or rejected`, async () => (await accounted()) >= want, 60_000);
          const got = await counted(registry, 'pharos_realtime_samples_appended_total');
          const rejected = await counted(registry, 'pharos_realtime_samples_rejected_total');
          if (got.total !== want) g.problem = `${topic}: ${got.total} of ${want} samples appended; rejected ${rejected.byLabels}`;
        }),
      );
    } finally {
      await producer.close();
    }
  }, 180_000);

  afterAll(async () => {
    await Promise.all([...groups.values()].map((g) => g.ingest?.stop()));
    await bus.close();
  });

  it('every produced sample reached a head', () => {
    expect([...groups.values()].map((g) => g.problem).filter(Boolean)).toEqual([]);
    expect(groups.size).toBeGreaterThan(5);
    expect(byFile.reduce((n, f) => n + f.cases.length, 0)).toBeGreaterThan(250);
  });

  for (const { file, cases } of byFile) {
    describe(file, () => {
      for (const c of cases) {
        it(`line ${c.line}: ${c.fail ? 'fails ' : ''}${c.expr}`, () => {
          const ingest = groups.get(c.loads)!.ingest!;
          expect(runCase(shifted(c), engine, ingest.querier)).toBeNull();
        });
      }
    });
  }
});
