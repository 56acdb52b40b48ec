/**
 * Writes every alert state change and every notification attempt to `alert_events`, so "when
 * did this page, who got it, did it fail" is one SQL query. Buffered and flushed each second on
 * a connection of its own (chDB keeps a connection's settings for later queries on it); a failed
 * flush keeps its rows for the next one, bounded, and says so in the log.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from '../core/log.js';
import type { AlertStateEvent } from './evaluator/group.js';
import type { NotificationEvent } from './notify/record-stage.js';

interface AlertEventRow {
  Timestamp: number;
  Fingerprint: string;
  AlertName: string;
  Labels: Record<string, string>;
  Annotations: Record<string, string>;
  State: string;
  PreviousState: string;
  Value: number;
  Kind: 'state_change' | 'notification';
  Receiver: string;
  NotificationStatus: string;
  Error: string;
}

const MAX_BUFFERED = 100_000;

export class AlertEventsWriter {
  private rows: AlertEventRow[] = [];
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly database: string,
    private readonly log: Logger,
    flushMs = 1000,
  ) {
    this.timer = setInterval(() => void this.flush(), flushMs);
    this.timer.unref();
  }

  stateChange(e: AlertStateEvent): void {
    this.push({
      Timestamp: e.atMs,
      Fingerprint: e.fingerprint,
      AlertName: e.labels.alertname ?? e.rule,
      Labels: { ...e.labels },
      Annotations: { ...e.annotations },
      State: e.to,
      PreviousState: e.from,
      Value: Number.isFinite(e.value) ? e.value : 0,
      Kind: 'state_change',
      Receiver: '',
      NotificationStatus: '',
      Error: '',
    });
  }

  notification(e: NotificationEvent): void {
    for (const a of e.alerts) {
      this.push({
        Timestamp: e.atMs,
        Fingerprint: a.fingerprint,
        AlertName: a.labels.alertname ?? '',
        Labels: { ...a.labels },
        Annotations: { ...a.annotations },
        State: a.endsAt <= e.atMs ? 'resolved' : 'firing',
        PreviousState: '',
        Value: 0,
        Kind: 'notification',
        Receiver: e.receiver,
        NotificationStatus: e.status,
        Error: e.error ?? '',
      });
    }
  }

  private push(row: AlertEventRow): void {
    this.rows.push(row);
    if (this.rows.length > MAX_BUFFERED) {
      const dropped = this.rows.splice(0, this.rows.length - MAX_BUFFERED);
      this.log.error({ dropped: dropped.length }, 'alert_events buffer full while ClickHouse is unavailable: oldest events dropped');
    }
  }

  /** Inserts what is buffered; on failure the rows stay for the next flush. */
  flush(): Promise<void> {
    this.flushing ??= (async () => {
      const rows = this.rows;
      if (rows.length === 0) return;
      this.rows = [];
      try {
        await this.client.insert({
          table: `${this.database}.alert_events`,
          values: rows,
          format: 'JSONEachRow',
          // Integer milliseconds into DateTime64(3), the same on chDB and a server.
          clickhouse_settings: { date_time_input_format: 'basic' },
        });
      } catch (err) {
        this.rows = rows.concat(this.rows);
        this.log.warn({ err: (err as Error).message, pending: this.rows.length }, 'writing alert_events failed; will retry');
      }
    })().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
