/** Shared by the collector fault tests: numbered lines, a consumer of the logs topic, and the tally that proves delivery. */
import { Kafka, logLevel } from 'kafkajs';
import { decodeLogs } from '../../core/codec/codec.js';
import type { LogRecord } from '../../core/model/records.js';

/** `line 0000042 <filler>`: the number is what the tally reads back. */
export function numberedLine(n: number, filler = 'the quick brown fox jumps over the lazy dog'): string {
  return `line ${String(n).padStart(7, '0')} ${filler}`;
}

export function numberedLines(from: number, to: number): string {
  let out = '';
  for (let i = from; i < to; i++) out += `${numberedLine(i)}\n`;
  return out;
}

export interface TopicReader {
  records: LogRecord[];
  stop(): Promise<void>;
}

/** Reads the topic from its beginning with a group of its own, decoding every message. */
export async function readTopic(brokers: string[], topic: string): Promise<TopicReader> {
  const kafka = new Kafka({ clientId: 'pharos-fault-test', brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `fault-test-${topic}-${Date.now()}`, maxWaitTimeInMs: 100 });
  const records: LogRecord[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (message.value) records.push(...decodeLogs(message.value));
    },
  });
  return { records, stop: () => consumer.disconnect() };
}

export interface Tally {
  /** Distinct line numbers seen. */
  distinct: number;
  /** Records beyond the first of their line number. */
  duplicates: number;
  /** Line numbers in [0, expected) never seen (the first few). */
  missing: number[];
  /** (pharos.source, pharos.seq) pairs seen more than once: must match `duplicates`, or the edge stamped wrongly. */
  repeatedSeqs: number;
}

export function tally(records: LogRecord[], expected: number): Tally {
  const seen = new Map<number, number>();
  const seqs = new Map<string, number>();
  for (const r of records) {
    const m = /^line (\d+) /.exec(r.body);
    if (!m) continue;
    const n = Number(m[1]);
    seen.set(n, (seen.get(n) ?? 0) + 1);
    const key = `${String(r.attributes['pharos.source'])}#${String(r.attributes['pharos.seq'])}`;
    seqs.set(key, (seqs.get(key) ?? 0) + 1);
  }
  const missing: number[] = [];
  for (let i = 0; i < expected && missing.length < 20; i++) if (!seen.has(i)) missing.push(i);
  let duplicates = 0;
  for (const c of seen.values()) duplicates += c - 1;
  let repeatedSeqs = 0;
  for (const c of seqs.values()) repeatedSeqs += c - 1;
  return { distinct: seen.size, duplicates, missing, repeatedSeqs };
}
