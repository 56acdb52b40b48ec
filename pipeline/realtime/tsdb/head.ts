/**
 * The in-memory head of the real-time store: series keyed by their label set, each a list of
 * sealed XOR chunks (cut at `samplesPerChunk` samples) plus one open chunk taking appends, and
 * the postings index over them. Samples keep their own timestamps; the window is enforced by
 * truncate(nowMs), which the owner calls on a timer (time is an argument, never Date.now()).
 *
 * Bad samples never throw: append() returns why it refused one, and the caller counts it.
 *
 * Queries read chunks through a bounded cache of decoded ones (decoded-chunks.ts), whose entries
 * leave with their chunks; readers that keep results (the PromQL result cache) learn of every
 * append and drop through change trackers.
 */
import type { MetricSample } from '../../../core/model/records.js';
import { XorChunk, XorIterator } from '../chunk/xor-chunk.js';
import type { Labels } from '../storage.js';
import { DecodedChunkCache, DEFAULT_DECODED_CACHE_BYTES } from './decoded-chunks.js';
import { labelsKey, METRIC_NAME, sameLabels, sampleHash, seriesLabels } from './labels.js';
import { MemPostings } from './postings.js';

export interface HeadOptions {
  /** How far back from "now" samples are kept. Default 2 h. */
  windowMs?: number;
  /**
   * How far behind a series' newest sample an older one is still inserted (re-encoding its
   * chunk); older ones are rejected as out of order. Default 0, as Prometheus's
   * out_of_order_time_window: Kafka keeps one host's samples in order within a partition.
   */
  outOfOrderToleranceMs?: number;
  /** New series of one metric name beyond this are rejected. Default unlimited. */
  maxSeriesPerMetric?: number;
  /** Samples per chunk before it is sealed. Default 120, as Prometheus. */
  samplesPerChunk?: number;
  /** Memory for chunks kept decoded for queries (decoded-chunks.ts). Default 64 MiB; 0 disables. */
  decodedCacheBytes?: number;
}

/**
 * What changed in the head since a reader last looked: the oldest sample appended (+∞ if none)
 * and a bound at or above every sample dropped (−∞ if none). A result cache uses it to know
 * which past results still hold; the reader resets the fields when it has taken them.
 */
export interface ChangeTracker {
  minAppendedT: number;
  droppedBelowT: number;
}

export type RejectReason = 'out_of_order' | 'duplicate' | 'too_old' | 'series_limit' | 'invalid';
export const REJECT_REASONS: readonly RejectReason[] = ['out_of_order', 'duplicate', 'too_old', 'series_limit', 'invalid'];

export type AppendResult = { ok: true } | { ok: false; reason: RejectReason; message: string };

export interface SealedChunk {
  readonly bytes: Uint8Array;
  readonly minT: number;
  readonly maxT: number;
  readonly numSamples: number;
}

export class MemSeries {
  readonly sealed: SealedChunk[] = [];
  open: XorChunk | null = null;
  /** Newest timestamp appended (the order appends must follow). */
  lastT = Number.NEGATIVE_INFINITY;

  /** Canonical label string: the order series are returned in. */
  readonly key: string;
  readonly size: number;

  constructor(
    readonly id: number,
    readonly hash: number,
    readonly labels: Labels,
  ) {
    this.key = labelsKey(labels);
    this.size = Object.keys(labels).length;
  }

  get name(): string {
    return this.labels[METRIC_NAME]!;
  }

  get minT(): number {
    return this.sealed[0]?.minT ?? this.open?.minT ?? Number.NaN;
  }

  get maxT(): number {
    return this.open?.maxT ?? this.sealed[this.sealed.length - 1]?.maxT ?? Number.NaN;
  }

  get numChunks(): number {
    return this.sealed.length + (this.open ? 1 : 0);
  }

  overlaps(minT: number, maxT: number): boolean {
    return this.numChunks > 0 && this.minT <= maxT && this.maxT >= minT;
  }
}

// Rough per-object costs of V8 for the index estimate: a series object with its arrays, a label
// pair in the frozen label object and the postings maps, a postings list entry.
const SERIES_OVERHEAD_BYTES = 200;
const LABEL_PAIR_OVERHEAD_BYTES = 96;
const POSTING_BYTES = 8;

export interface HeadMemory {
  /** Bytes allocated for chunks (sealed ones exactly, open ones with their spare capacity). */
  chunkBytes: number;
  /** Bytes the chunks actually encode (what bytes per sample is measured on). */
  chunkPayloadBytes: number;
  /** Estimate of the series objects, label strings and postings. */
  indexBytes: number;
  /** Chunks kept decoded for queries (bounded by decodedCacheBytes; a cache, not in totalBytes). */
  decodedCacheBytes: number;
  totalBytes: number;
  numSamples: number;
  /** chunkPayloadBytes / numSamples (NaN when empty). */
  bytesPerSample: number;
}

export class Head {
  readonly windowMs: number;
  readonly outOfOrderToleranceMs: number;
  readonly maxSeriesPerMetric: number;
  readonly samplesPerChunk: number;

  /** Label-set hash → the series with that hash (nearly always one). */
  private readonly series = new Map<number, MemSeries | MemSeries[]>();
  private readonly byId = new Map<number, MemSeries>();
  private readonly countByName = new Map<string, number>();
  readonly postings = new MemPostings();
  private nextId = 1;
  /** Samples older than this are refused; moved forward by truncate(). */
  private minValidT = Number.NEGATIVE_INFINITY;

  private sealedBytes = 0;
  private openCapacity = 0;
  private openPayload = 0;
  private indexBytes = 0;
  private samples = 0;
  private readonly iter = new XorIterator();
  /** Decoded chunks for the querier; entries leave with their chunks. */
  readonly decoded: DecodedChunkCache;
  private trackers: ChangeTracker[] = [];

  constructor(opts: HeadOptions = {}) {
    this.decoded = new DecodedChunkCache(opts.decodedCacheBytes ?? DEFAULT_DECODED_CACHE_BYTES);
    this.windowMs = opts.windowMs ?? 2 * 3600_000;
    this.outOfOrderToleranceMs = opts.outOfOrderToleranceMs ?? 0;
    this.maxSeriesPerMetric = opts.maxSeriesPerMetric ?? Number.POSITIVE_INFINITY;
    this.samplesPerChunk = opts.samplesPerChunk ?? 120;
  }

  /** A tracker the head keeps up to date from now on (see ChangeTracker); untrack() ends it. */
  trackChanges(): ChangeTracker {
    const tr: ChangeTracker = { minAppendedT: Number.POSITIVE_INFINITY, droppedBelowT: Number.NEGATIVE_INFINITY };
    this.trackers = [...this.trackers, tr];
    return tr;
  }

  untrack(tr: ChangeTracker): void {
    this.trackers = this.trackers.filter((x) => x !== tr);
  }

  private noteAppended(t: number): void {
    for (const tr of this.trackers) if (t < tr.minAppendedT) tr.minAppendedT = t;
  }

  get numSeries(): number {
    return this.byId.size;
  }

  get minValidTime(): number {
    return this.minValidT;
  }

  getById(id: number): MemSeries | undefined {
    return this.byId.get(id);
  }

  allSeries(): IterableIterator<MemSeries> {
    return this.byId.values();
  }

  append(s: MetricSample): AppendResult {
    const t = s.timestampMs;
    if (!Number.isSafeInteger(t)) return reject('invalid', `sample of ${s.name} has timestamp ${t}, not an integer number of ms: dropped`);
    if (s.name === '') return reject('invalid', 'sample without a metric name: dropped');
    if (t < this.minValidT) {
      return reject('too_old', `sample of ${s.name} at ${new Date(t).toISOString()} is older than the window start ${new Date(this.minValidT).toISOString()}: dropped`);
    }
    const hash = sampleHash(s.name, s.labels);
    let series = this.lookup(hash, s.name, s.labels);
    if (!series) {
      const labels = seriesLabels(s.name, s.labels);
      const count = this.countByName.get(s.name) ?? 0;
      if (count >= this.maxSeriesPerMetric) {
        return reject(
          'series_limit',
          `series limit of ${this.maxSeriesPerMetric} per metric name reached for ${s.name}: new series ${formatLabels(labels)} rejected (raise max_series_per_metric or drop a high-cardinality label)`,
        );
      }
      series = this.create(hash, labels);
    }
    const labels = series.labels;
    const stale = s.stale === true;
    if (t > series.lastT) {
      this.appendInOrder(series, t, s.value, stale);
      return OK;
    }
    if (t === series.lastT) return reject('duplicate', `sample of ${formatLabels(labels)} at ${t} repeats the last timestamp: ignored`);
    if (t < series.lastT - this.outOfOrderToleranceMs) {
      return reject(
        'out_of_order',
        `sample of ${formatLabels(labels)} at ${t} is ${series.lastT - t} ms older than the series' newest (tolerance ${this.outOfOrderToleranceMs} ms): dropped`,
      );
    }
    return this.insert(series, t, s.value, stale);
  }

  /**
   * Drops chunks whose newest sample is older than nowMs − window and the series left without
   * chunks; samples older than that are refused from then on.
   */
  truncate(nowMs: number): { removedSeries: number; removedChunks: number } {
    const cutoff = nowMs - this.windowMs;
    if (cutoff > this.minValidT) this.minValidT = cutoff;
    let removedChunks = 0;
    const removed = new Map<number, Labels>();
    for (const series of this.byId.values()) {
      let drop = 0;
      while (drop < series.sealed.length && series.sealed[drop]!.maxT < cutoff) {
        const c = series.sealed[drop]!;
        this.sealedBytes -= c.bytes.length;
        this.samples -= c.numSamples;
        this.decoded.delete(c);
        drop++;
      }
      if (drop > 0) series.sealed.splice(0, drop);
      removedChunks += drop;
      if (series.open && series.open.maxT < cutoff) {
        this.dropOpen(series);
        removedChunks++;
      }
      if (series.numChunks === 0) removed.set(series.id, series.labels);
    }
    // Every dropped sample is older than the cutoff.
    if (removedChunks > 0) for (const tr of this.trackers) if (cutoff > tr.droppedBelowT) tr.droppedBelowT = cutoff;
    for (const id of removed.keys()) this.remove(this.byId.get(id)!);
    this.postings.delete(removed);
    return { removedSeries: removed.size, removedChunks };
  }

  memory(): HeadMemory {
    const chunkBytes = this.sealedBytes + this.openCapacity;
    const chunkPayloadBytes = this.sealedBytes + this.openPayload;
    const decodedCacheBytes = this.decoded.bytes;
    return {
      chunkBytes,
      chunkPayloadBytes,
      indexBytes: this.indexBytes,
      decodedCacheBytes,
      totalBytes: chunkBytes + this.indexBytes,
      numSamples: this.samples,
      bytesPerSample: this.samples > 0 ? chunkPayloadBytes / this.samples : Number.NaN,
    };
  }

  /** Series count per metric name (for cardinality views). */
  seriesCountByName(): ReadonlyMap<string, number> {
    return this.countByName;
  }

  private lookup(hash: number, name: string, labels: Readonly<Record<string, string>>): MemSeries | undefined {
    const hit = this.series.get(hash);
    if (hit === undefined) return undefined;
    if (!Array.isArray(hit)) return sameLabels(hit.labels, hit.size, name, labels) ? hit : undefined;
    return hit.find((s) => sameLabels(s.labels, s.size, name, labels));
  }

  private create(hash: number, labels: Labels): MemSeries {
    const series = new MemSeries(this.nextId++, hash, labels);
    const hit = this.series.get(hash);
    if (hit === undefined) this.series.set(hash, series);
    else if (Array.isArray(hit)) hit.push(series);
    else this.series.set(hash, [hit, series]);
    this.byId.set(series.id, series);
    this.countByName.set(series.name, (this.countByName.get(series.name) ?? 0) + 1);
    this.postings.add(series.id, labels);
    this.indexBytes += seriesIndexBytes(labels);
    return series;
  }

  private remove(series: MemSeries): void {
    const hit = this.series.get(series.hash);
    if (Array.isArray(hit)) {
      const rest = hit.filter((s) => s !== series);
      if (rest.length === 1) this.series.set(series.hash, rest[0]!);
      else this.series.set(series.hash, rest);
    } else {
      this.series.delete(series.hash);
    }
    this.byId.delete(series.id);
    const n = (this.countByName.get(series.name) ?? 1) - 1;
    if (n > 0) this.countByName.set(series.name, n);
    else this.countByName.delete(series.name);
    this.indexBytes -= seriesIndexBytes(series.labels);
  }

  private appendInOrder(series: MemSeries, t: number, v: number, stale: boolean): void {
    let open = series.open;
    if (open && open.numSamples >= this.samplesPerChunk) {
      this.seal(series);
      open = null;
    }
    if (!open) {
      open = new XorChunk(32);
      series.open = open;
      this.openCapacity += open.capacity;
      this.openPayload += open.byteLength;
    }
    const cap = open.capacity;
    const len = open.byteLength;
    open.append(t, v, stale);
    this.noteAppended(t);
    this.openCapacity += open.capacity - cap;
    this.openPayload += open.byteLength - len;
    series.lastT = t;
    this.samples++;
  }

  private seal(series: MemSeries): void {
    const open = series.open!;
    const bytes = open.seal();
    const sealed: SealedChunk = { bytes, minT: open.minT, maxT: open.maxT, numSamples: open.numSamples };
    series.sealed.push(sealed);
    // Same samples: what was decoded of the open chunk serves the sealed one.
    this.decoded.rekey(open, sealed, sealed.numSamples);
    this.sealedBytes += bytes.length;
    this.openCapacity -= open.capacity;
    this.openPayload -= open.byteLength;
    series.open = null;
  }

  private dropOpen(series: MemSeries): void {
    const open = series.open!;
    this.openCapacity -= open.capacity;
    this.openPayload -= open.byteLength;
    this.samples -= open.numSamples;
    this.decoded.delete(open);
    series.open = null;
  }

  /** An older sample within the tolerance: decode the chunk it belongs in, insert, re-encode. */
  private insert(series: MemSeries, t: number, v: number, stale: boolean): AppendResult {
    const open = series.open;
    const inOpen = open !== null && (series.sealed.length === 0 || t >= open.minT);
    let idx = -1;
    if (!inOpen) {
      idx = 0;
      for (let i = series.sealed.length - 1; i >= 0; i--) {
        if (series.sealed[i]!.minT <= t) {
          idx = i;
          break;
        }
      }
    }
    const bytes = inOpen ? open!.bytes() : series.sealed[idx]!.bytes;
    const ts: number[] = [];
    const vs: number[] = [];
    const st: boolean[] = [];
    let placed = false;
    this.iter.reset(bytes);
    while (this.iter.next()) {
      if (!placed && this.iter.t >= t) {
        if (this.iter.t === t) return reject('duplicate', `sample of ${formatLabels(series.labels)} at ${t} repeats a stored timestamp: ignored`);
        ts.push(t);
        vs.push(v);
        st.push(stale);
        placed = true;
      }
      ts.push(this.iter.t);
      vs.push(this.iter.v);
      st.push(this.iter.stale);
    }
    if (!placed) {
      ts.push(t);
      vs.push(v);
      st.push(stale);
    }
    const chunk = new XorChunk(bytes.length + 16);
    for (let i = 0; i < ts.length; i++) chunk.append(ts[i]!, vs[i]!, st[i]!);
    if (inOpen) {
      this.openCapacity += chunk.capacity - open!.capacity;
      this.openPayload += chunk.byteLength - open!.byteLength;
      this.decoded.delete(open!);
      series.open = chunk;
    } else {
      const sealed = chunk.seal();
      this.sealedBytes += sealed.length - bytes.length;
      this.decoded.delete(series.sealed[idx]!);
      series.sealed[idx] = { bytes: sealed, minT: chunk.minT, maxT: chunk.maxT, numSamples: chunk.numSamples };
    }
    this.noteAppended(t);
    this.samples++;
    return OK;
  }
}

const OK: AppendResult = { ok: true };

function reject(reason: RejectReason, message: string): AppendResult {
  return { ok: false, reason, message };
}

function seriesIndexBytes(labels: Labels): number {
  let n = SERIES_OVERHEAD_BYTES;
  for (const k in labels) n += LABEL_PAIR_OVERHEAD_BYTES + 2 * (k.length + labels[k]!.length) + POSTING_BYTES;
  return n;
}

export function formatLabels(labels: Labels): string {
  const name = labels[METRIC_NAME] ?? '';
  const rest = Object.keys(labels)
    .filter((k) => k !== METRIC_NAME)
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(', ');
  return `${name}{${rest}}`;
}
