/**
 * What the alerting e2e tests and `npm run bench:alerts` share: a loopback webhook receiver that
 * records every page with its arrival time, metric samples produced to Kafka in the collectors'
 * wire format, and the environment that points a spawned `pharos alerts` at them.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { encodeMetricBatches, wireHeaders } from '../../core/codec/codec.js';
import type { MetricSample } from '../../core/model/records.js';
import type { NotifyConfigInput } from '../notify/config.js';
import type { WebhookMessage } from '../notify/webhook.js';

export interface ReceivedPage {
  /** The request path: one path per receiver in the tests' configs. */
  path: string;
  body: WebhookMessage;
  /** performance.now() at arrival. */
  at: number;
}

export interface HookServer {
  url(path: string): string;
  pages: ReceivedPage[];
  /** Called on each page as it arrives (the bench times with it). */
  onPage?: ((p: ReceivedPage) => void) | undefined;
  close(): Promise<void>;
}

export async function startHookServer(): Promise<HookServer> {
  const hook: HookServer = { url: () => '', pages: [], close: async () => {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      const page = { path: req.url ?? '/', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as WebhookMessage, at };
      hook.pages.push(page);
      res.end('ok');
      hook.onPage?.(page);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  hook.url = (path) => `http://127.0.0.1:${port}${path}`;
  hook.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return hook;
}

/** Pages of one alert (by alertname and instance) at one receiver path, in order. */
export function pagesOf(hook: HookServer, path: string, alertname: string, instance?: string): Array<{ status: string; at: number }> {
  const out: Array<{ status: string; at: number }> = [];
  for (const p of hook.pages) {
    if (p.path !== path) continue;
    for (const a of p.body.alerts) {
      if (a.labels.alertname === alertname && (instance === undefined || a.labels.instance === instance)) out.push({ status: a.status, at: p.at });
    }
  }
  return out;
}

export class MetricProducer {
  private constructor(
    private readonly producer: Producer,
    readonly topic: string,
  ) {}

  static async connect(brokers: string[], topic: string): Promise<MetricProducer> {
    const producer = new Kafka({ clientId: 'pharos-alerts-test', brokers, logLevel: logLevel.ERROR }).producer({ allowAutoTopicCreation: false });
    await producer.connect();
    return new MetricProducer(producer, topic);
  }

  async send(samples: MetricSample[]): Promise<void> {
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: encodeMetricBatches(samples).map((b) => ({ key: null, value: Buffer.from(b.buffer, b.byteOffset, b.byteLength), headers: wireHeaders() })),
    });
  }

  close(): Promise<void> {
    return this.producer.disconnect();
  }
}

export function gauge(name: string, labels: Record<string, string>, value: number, timestampMs = Date.now()): MetricSample {
  return { name, labels, value, timestampMs, type: 'gauge' };
}

export interface AlertsEnvOptions {
  brokers: string[];
  /** Topics and group names of their own, so runs never see each other's state. */
  prefix: string;
  rules: string;
  notify: NotifyConfigInput;
  listen: string;
  dataDir?: string;
  extra?: Record<string, string>;
}

/** Environment for `spawnPharos(['alerts'], env)`: only our rules, topics of our own. */
export function alertsEnv(o: AlertsEnvOptions): { env: Record<string, string>; dataDir: string; metricsTopic: string } {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'pharos-alerts-'));
  mkdirSync(dataDir, { recursive: true });
  const rulesFile = join(dataDir, 'rules.yaml');
  writeFileSync(rulesFile, o.rules);
  const metricsTopic = `${o.prefix}.metrics`;
  return {
    dataDir,
    metricsTopic,
    env: {
      PHAROS_DATA_DIR: dataDir,
      PHAROS_KAFKA__BROKERS: o.brokers.join(','),
      PHAROS_KAFKA__TOPICS__METRICS: metricsTopic,
      PHAROS_KAFKA__TOPICS__ALERTS: `${o.prefix}.alerts`,
      PHAROS_KAFKA__PARTITIONS: '1',
      PHAROS_ALERTS__STATE_TOPIC: `${o.prefix}.alerts.state`,
      PHAROS_ALERTS__LEADER_GROUP: `${o.prefix}-alerts-leader`,
      PHAROS_ALERTS__LEADER_SESSION_TIMEOUT_MS: '6000',
      PHAROS_ALERTS__DEFAULT_RULES: 'false',
      PHAROS_ALERTS__RULE_FILES: `[${rulesFile}]`,
      PHAROS_ALERTS__LISTEN: o.listen,
      PHAROS_ALERTS__NOTIFY: JSON.stringify(o.notify),
      PHAROS_LOG__LEVEL: 'info',
      ...o.extra,
    },
  };
}
