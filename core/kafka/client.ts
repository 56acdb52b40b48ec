/**
 * The one kafkajs client factory: brokers, TLS and SASL from config, kafkajs's own logs routed
 * into pino (never its console logger), secrets read from files and never logged.
 */
import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type KafkaConfig, type SASLOptions, type logCreator } from 'kafkajs';
import type { PharosConfig } from '../config/schema.js';
import type { Logger } from '../log.js';

export function createKafka(config: PharosConfig['kafka'], log: Logger, brokers: string[] = config.brokers): Kafka {
  const kafkaConfig: KafkaConfig = {
    clientId: config.client_id,
    brokers,
    ssl: config.ssl,
    logCreator: pinoLogCreator(log.child({ component_kind: 'service', component_id: 'kafkajs' })),
    logLevel: logLevel.WARN,
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 5000 },
    connectionTimeout: 3000,
  };
  if (config.sasl) kafkaConfig.sasl = saslOptions(config.sasl);
  return new Kafka(kafkaConfig);
}

function saslOptions(sasl: NonNullable<PharosConfig['kafka']['sasl']>): SASLOptions {
  const password = sasl.password ?? (sasl.password_file ? readFileSync(sasl.password_file, 'utf8').trim() : '');
  return { mechanism: sasl.mechanism, username: sasl.username, password } as SASLOptions;
}

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * kafkajs messages that are not news: the coordinator is "loading" or "not available" for a moment
 * while the offsets topic is created (kafkajs retries), the partitioner notice of its 2.0 upgrade,
 * and the idempotence note (the collector's sink retries failed sends itself, in order).
 */
const EXPECTED = [/coordinator is loading/i, /group coordinator is not available/i, /switched default partitioner/i, /Limiting retries for the idempotent producer/i];

function pinoLogCreator(log: Logger): logCreator {
  return () => ({ level, log: entry }) => {
    const { message, ...fields } = entry;
    const lvl = EXPECTED.some((re) => re.test(String(message)) || re.test(String(fields.error ?? ''))) ? 'debug' : (LEVELS[level] ?? 'info');
    log[lvl]({ namespace: entry.namespace, broker: fields.broker, error: fields.error }, message);
  };
}
