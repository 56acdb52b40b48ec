/**
 * Where every push source (OTLP/HTTP logs, JSON lines, syslog) hands its records to the
 * collector's log path, stamped for delivery accounting as file tail stamps them:
 * `pharos.source` names the receiver and `pharos.seq` counts its records per `host.name`,
 * contiguously, from 0.
 *
 * A push source keeps no checkpoint, so its sequences restart with the process: the source name
 * carries a run id (`otlp_http#3fa9c2d1`) so that a restart starts a new stream in the
 * warehouse's delivery report rather than looking like duplicates of the last one.
 *
 * Seqs are handed out only to records the sink accepts: submissions run one at a time, and a
 * submission the sink refuses (it gave up waiting for room) gives its numbers back, so an
 * answered 503 never leaves a gap that would read as loss.
 */
import { randomBytes } from 'node:crypto';
import type { LogRecord } from '../../core/model/records.js';
import { nowNano } from '../../core/model/records.js';
import type { RecordGate } from '../transforms/record-gate.js';

export interface LogSubmit {
  /**
   * Accepts records into the collector's log path (redaction, then the Kafka sink). Resolves
   * once accepted, with a promise of their acknowledgement (delivered to Kafka), wrapped so that
   * awaiting the acceptance does not wait for it; rejects when `signal` aborts before they were
   * accepted.
   */
  (records: LogRecord[], bytes: number, signal: AbortSignal): Promise<{ acked: Promise<void> }>;
}

export const RUN_ID = randomBytes(4).toString('hex');

export class LogIntake {
  private readonly next = new Map<string, number>();
  private chain: Promise<unknown> = Promise.resolve();
  readonly source: string;

  constructor(
    source: string,
    private readonly submit: LogSubmit,
    private readonly gate?: RecordGate,
  ) {
    this.source = `${source}#${RUN_ID}`;
  }

  /** Stamps and submits; resolves with the acknowledgement promise once the sink accepted them. */
  push(records: LogRecord[], bytes: number, signal: AbortSignal): Promise<{ acked: Promise<void> }> {
    const run = this.chain.then(() => this.stampAndSubmit(records, bytes, signal));
    this.chain = run.catch(() => {});
    return run;
  }

  private async stampAndSubmit(records: LogRecord[], bytes: number, signal: AbortSignal): Promise<{ acked: Promise<void> }> {
    signal.throwIfAborted();
    const before = new Map(this.next);
    const observed = nowNano();
    // Filtered before numbering: a dropped record is counted as a drop, not seen as a gap.
    if (this.gate) records = this.admitted(records, this.gate);
    for (const r of records) {
      const host = r.resource['host.name'];
      const key = typeof host === 'string' ? host : '';
      const seq = this.next.get(key) ?? 0;
      this.next.set(key, seq + 1);
      // Set last: a pushed attribute named like ours cannot fake a record's origin or sequence.
      r.attributes['pharos.source'] = this.source;
      r.attributes['pharos.seq'] = seq;
      // A record with neither time would be stored at 1970; the time it reached us stands in.
      if (r.observedTimeUnixNano === 0n) r.observedTimeUnixNano = observed;
    }
    try {
      return await this.submit(records, bytes, signal);
    } catch (err) {
      this.next.clear();
      for (const [k, v] of before) this.next.set(k, v);
      throw err;
    }
  }

  private admitted(records: LogRecord[], gate: RecordGate): LogRecord[] {
    const kept: LogRecord[] = [];
    for (const r of records) {
      r.resource = gate.resource(r.resource);
      // The source first, so a drop is counted under it.
      r.attributes['pharos.source'] = this.source;
      if (gate.admit(r)) kept.push(r);
    }
    return kept;
  }
}
