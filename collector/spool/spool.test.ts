import { once } from 'node:events';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { silentLogger } from '../../core/log.js';
import { RegistryClass, type Registry } from '../../core/telemetry/registry.js';
import { spawnPharos } from '../../test/harness/pharos-process.js';
import { spoolTelemetry } from '../events.js';
import type { SpoolBatch } from './block-format.js';
import { DiskSpool, inspectSpool } from './spool.js';

function batch(n: number, size = 100): SpoolBatch {
  return {
    records: n,
    messages: [
      { key: Buffer.from('host-a'), value: Buffer.alloc(size, n % 256), headers: { 'pharos-wire': 'v1', n: String(n) } },
      { key: null, value: Buffer.from(`batch ${n}`) },
    ],
  };
}

async function openSpool(dir: string, registry: Registry = new RegistryClass(), limits: { maxBytes?: number; segmentBytes?: number } = {}) {
  return DiskSpool.open({ dir, maxBytes: limits.maxBytes ?? 1024 * 1024, segmentBytes: limits.segmentBytes ?? 64 * 1024, telemetry: spoolTelemetry(registry, silentLogger()) });
}

/** Peeks and acks until empty: the record counts (our batch ids) in delivery order. */
async function drain(spool: DiskSpool): Promise<number[]> {
  const out: number[] = [];
  for (let b = await spool.peek(); b; b = await spool.peek()) {
    out.push(b.records);
    await spool.ack(b.seq);
  }
  return out;
}

async function metric(registry: Registry, name: string): Promise<number> {
  const m = await registry.getSingleMetric(name)?.get();
  return m?.values[0]?.value ?? NaN;
}

const tmp = () => mkdtempSync(join(tmpdir(), 'pharos-spool-'));
const segmentFiles = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.seg')).sort();

describe('disk spool', () => {
  test('round trip: keys, values and headers come back as written, and an emptied spool leaves no segment behind', async () => {
    const dir = tmp();
    const registry = new RegistryClass();
    const spool = await openSpool(dir, registry);
    expect(await spool.append(batch(1))).toBe(true);
    expect(await spool.append(batch(2))).toBe(true);
    expect(spool.isEmpty()).toBe(false);
    expect(await metric(registry, 'pharos_collector_spool_bytes')).toBeGreaterThan(200);
    const first = (await spool.peek())!;
    expect(first.records).toBe(1);
    expect(first.messages[0]!.key!.toString()).toBe('host-a');
    expect(first.messages[0]!.value.equals(Buffer.alloc(100, 1))).toBe(true);
    expect(first.messages[0]!.headers).toEqual({ 'pharos-wire': 'v1', n: '1' });
    expect(first.messages[1]!.key).toBeNull();
    expect(first.messages[1]!.value.toString()).toBe('batch 1');
    await spool.ack(first.seq);
    expect(await drain(spool)).toEqual([2]);
    expect(spool.isEmpty()).toBe(true);
    expect(segmentFiles(dir)).toEqual([]);
    expect(await metric(registry, 'pharos_collector_spool_bytes')).toBe(0);
    await spool.close();
  });

  test('keeps order across many segments, with appends and acks interleaved', async () => {
    const dir = tmp();
    const spool = await openSpool(dir, undefined, { segmentBytes: 1024 });
    const delivered: number[] = [];
    for (let i = 1; i <= 40; i++) {
      expect(await spool.append(batch(i, 300))).toBe(true);
      if (i % 3 === 0) {
        const b = (await spool.peek())!;
        delivered.push(b.records);
        await spool.ack(b.seq);
      }
    }
    expect(segmentFiles(dir).length).toBeGreaterThan(5);
    delivered.push(...(await drain(spool)));
    expect(delivered).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(segmentFiles(dir)).toEqual([]);
    await spool.close();
  });

  test('bounded: an append past max_bytes is refused and counted; acknowledgements make room again', async () => {
    const dir = tmp();
    const registry = new RegistryClass();
    const spool = await openSpool(dir, registry, { maxBytes: 4096, segmentBytes: 1024 });
    let accepted = 0;
    while (await spool.append(batch(accepted + 1, 500))) accepted++;
    expect(accepted).toBeGreaterThan(3);
    expect(accepted).toBeLessThan(9);
    expect(spool.bytes).toBeLessThanOrEqual(4096);
    expect(spool.full()).toBe(true);
    expect(await metric(registry, 'pharos_collector_spool_full_total')).toBe(1);
    // Still refused while above half the bound (no flapping at the edge).
    const b = (await spool.peek())!;
    await spool.ack(b.seq);
    expect(await spool.append(batch(99, 500))).toBe(false);
    const rest = await drain(spool);
    expect([b.records, ...rest]).toEqual(Array.from({ length: accepted }, (_, i) => i + 1));
    expect(spool.full()).toBe(false);
    expect(await spool.append(batch(100, 500))).toBe(true);
    await spool.close();
  });

  test('a restart resumes after the last acknowledged batch, and sequence numbers keep increasing', async () => {
    const dir = tmp();
    const first = await openSpool(dir, undefined, { segmentBytes: 1024 });
    for (let i = 1; i <= 10; i++) await first.append(batch(i, 300));
    let seqBefore = 0;
    for (let i = 0; i < 4; i++) {
      const b = (await first.peek())!;
      seqBefore = b.seq;
      await first.ack(b.seq);
    }
    await first.close();

    const second = await openSpool(dir, undefined, { segmentBytes: 1024 });
    expect(second.batches).toBe(6);
    await second.append(batch(11, 300));
    const order: number[] = [];
    const seqs: number[] = [];
    for (let b = await second.peek(); b; b = await second.peek()) {
      order.push(b.records);
      seqs.push(b.seq);
      await second.ack(b.seq);
    }
    expect(order).toEqual([5, 6, 7, 8, 9, 10, 11]);
    expect(seqs[0]).toBe(seqBefore + 1);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    await second.close();
  });

  test('a torn tail (a crash mid-write) is quarantined and counted; the whole batches before it are delivered', async () => {
    const dir = tmp();
    const first = await openSpool(dir);
    for (let i = 1; i <= 3; i++) await first.append(batch(i));
    await first.close();
    const [seg] = segmentFiles(dir);
    const whole = readFileSync(join(dir, seg!));
    // The first half of a fourth block: what a crash between write and fsync can leave.
    appendFileSync(join(dir, seg!), whole.subarray(0, Math.floor(whole.length / 3 / 2)));

    const registry = new RegistryClass();
    const second = await openSpool(dir, registry);
    expect(await metric(registry, 'pharos_collector_spool_segments_quarantined_total')).toBe(1);
    expect(readdirSync(dir)).toContain(`${seg}.quarantined`);
    expect(await drain(second)).toEqual([1, 2, 3]);
    // It carries on: new batches go to a fresh segment.
    expect(await second.append(batch(4))).toBe(true);
    expect(await drain(second)).toEqual([4]);
    await second.close();
  });

  test('a corrupted middle segment is quarantined; the batches around the damage, and other segments, still arrive', async () => {
    const dir = tmp();
    const first = await openSpool(dir, undefined, { segmentBytes: 1000 });
    for (let i = 1; i <= 9; i++) await first.append(batch(i, 400)); // ~3 blocks of ~470 bytes per 1000-byte segment... 2 per segment
    await first.close();
    const segs = segmentFiles(dir);
    expect(segs.length).toBeGreaterThanOrEqual(3);
    const middle = join(dir, segs[1]!);
    const bytes = readFileSync(middle);
    // Garbage over the payload of the segment's first block (its checksum no longer holds).
    bytes.fill(0x5a, 40, 120);
    writeFileSync(middle, bytes);

    const registry = new RegistryClass();
    const second = await openSpool(dir, registry, { segmentBytes: 1000 });
    expect(await metric(registry, 'pharos_collector_spool_segments_quarantined_total')).toBe(1);
    expect(await metric(registry, 'pharos_collector_spool_damaged_bytes_total')).toBeGreaterThan(0);
    const delivered = await drain(second);
    const lost = [1, 2, 3, 4, 5, 6, 7, 8, 9].filter((n) => !delivered.includes(n));
    expect(lost).toHaveLength(1);
    expect(delivered).toEqual([...delivered].sort((a, b) => a - b));
    await second.close();
    // The quarantined file stays as evidence; the delivered ones are gone.
    expect(readdirSync(dir).filter((n) => n.endsWith('.quarantined'))).toEqual([`${segs[1]}.quarantined`]);
    expect(segmentFiles(dir)).toEqual([]);
  });

  test('a segment quarantined before a crash still delivers its valid batches after the restart, and is counted once', async () => {
    const dir = tmp();
    const first = await openSpool(dir);
    for (let i = 1; i <= 4; i++) await first.append(batch(i));
    await first.close();
    const [seg] = segmentFiles(dir);
    const bytes = readFileSync(join(dir, seg!));
    bytes.fill(0x00, bytes.length - 20); // the last block's tail
    writeFileSync(join(dir, seg!), bytes);
    const registry = new RegistryClass();
    const second = await openSpool(dir, registry);
    expect(await metric(registry, 'pharos_collector_spool_segments_quarantined_total')).toBe(1);
    await second.close(); // "crashes" before delivering anything
    const again = new RegistryClass();
    const third = await openSpool(dir, again);
    expect(await metric(again, 'pharos_collector_spool_segments_quarantined_total')).toBe(0);
    expect(await drain(third)).toEqual([1, 2, 3]);
    await third.close();
  });

  test('garbage files named like segments never stop the spool from opening', async () => {
    const dir = tmp();
    writeFileSync(join(dir, '00000000000000000001.seg'), Buffer.from('not a spool segment at all'));
    writeFileSync(join(dir, 'head.json'), '{oops');
    const spool = await openSpool(dir);
    expect(spool.isEmpty()).toBe(true);
    expect(await spool.append(batch(7))).toBe(true);
    expect(await drain(spool)).toEqual([7]);
    await spool.close();
  });

  test('inspect lists segments with their state, batch and record counts, bytes and sequence range', async () => {
    const dir = tmp();
    const spool = await openSpool(dir, undefined, { segmentBytes: 1000 });
    for (let i = 1; i <= 5; i++) await spool.append(batch(i, 400));
    const b = (await spool.peek())!;
    await spool.ack(b.seq);
    await spool.close();
    writeFileSync(join(dir, '00000000000000000000.seg.quarantined'), 'junk');
    const report = await inspectSpool(dir);
    expect(report.ackedSeq).toBe(b.seq);
    const states = report.segments.map((s) => s.state);
    expect(states[0]).toBe('quarantined');
    expect(states.at(-1)).toBe('active');
    expect(states.filter((s) => s === 'sealed').length).toBeGreaterThan(0);
    const live = report.segments.filter((s) => s.state !== 'quarantined');
    expect(live.reduce((n, s) => n + s.records, 0)).toBe(1 + 2 + 3 + 4 + 5);
    expect(live[0]!.oldestSeq).toBe(b.seq);
    expect(live[0]!.acknowledgedBatches).toBe(1);
    expect(live.at(-1)!.newestSeq).toBe(b.seq + 4);
    expect(report.segments[0]!.damagedBytes).toBe(4);
  });

  test('`pharos spool inspect DIR` prints a row per segment and a summary', { timeout: 30_000 }, async () => {
    const dir = tmp();
    const spool = await openSpool(dir, undefined, { segmentBytes: 1000 });
    for (let i = 1; i <= 3; i++) await spool.append(batch(i, 400));
    await spool.close();
    const p = spawnPharos(['spool', 'inspect', dir], {});
    const [code] = (await once(p.proc, 'close')) as [number | null];
    expect(code).toBe(0);
    const out = p.output();
    expect(out).toMatch(/SEGMENT\s+STATE\s+BATCHES\s+RECORDS/);
    expect(out).toMatch(/00000000000000000001\.seg\s+sealed\s+2\s+3\s/);
    expect(out).toMatch(/\.seg\s+active\s+1\s+3\s/);
    expect(out).toContain('2 live segment(s), 3 batch(es) waiting for Kafka');
  });
});
