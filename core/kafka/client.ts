/**
 * The one kafkajs client factory: brokers, TLS and SASL from config, kafkajs's own logs routed
 * into pino (never its console logger), secrets read from files and never logged.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Kafka, logLevel, type KafkaConfig, type SASLOptions, type logCreator } from 'kafkajs';
import type { PharosConfig } from '../config/schema.js';
import { PharosError } from '../errors.js';
import type { Logger } from '../log.js';
// Registers kafkajs's LZ4 codec: every consumer reads LZ4 batches, Pharos's (kafka.compression: lz4) and other producers'.
import './lz4.js';

type ReadFile = (path: string) => string;
const readUtf8: ReadFile = (path) => readFileSync(path, 'utf8');

export function createKafka(config: PharosConfig['kafka'], log: Logger, brokers: string[] = config.brokers, readFile: ReadFile = readUtf8): Kafka {
  const kafkaConfig: KafkaConfig = {
    clientId: config.client_id,
    brokers,
    ssl: tlsOptions(config, readFile),
    logCreator: pinoLogCreator(log.child({ component_kind: 'service', component_id: 'kafkajs' })),
    logLevel: logLevel.WARN,
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 5000 },
    connectionTimeout: 3000,
  };
  if (config.sasl) kafkaConfig.sasl = saslOptions(config.sasl, readFile);
  return new Kafka(kafkaConfig);
}

/** `ssl: true` trusts the system's CAs; `tls` adds a CA, a client certificate, or (tests) no verification. */
export function tlsOptions(config: Pick<PharosConfig['kafka'], 'ssl' | 'tls'>, readFile: ReadFile = readUtf8): boolean | ConnectionOptions {
  const tls = config.tls;
  if (!tls) return config.ssl;
  const options: ConnectionOptions = { rejectUnauthorized: tls.reject_unauthorized };
  if (tls.ca_file) options.ca = [readSecretFile('kafka.tls.ca_file', tls.ca_file, readFile)];
  if (tls.cert_file) options.cert = readSecretFile('kafka.tls.cert_file', tls.cert_file, readFile);
  if (tls.key_file) options.key = readSecretFile('kafka.tls.key_file', tls.key_file, readFile);
  return options;
}

export function saslOptions(sasl: NonNullable<PharosConfig['kafka']['sasl']>, readFile: ReadFile = readUtf8): SASLOptions {
  // Mounted secrets usually end with a newline that is not part of the password.
  const password = sasl.password ?? readSecretFile('kafka.sasl.password_file', sasl.password_file ?? '', readFile).trim();
  if (password === '') throw new PharosError('invalid_config', `kafka.sasl: the password ${sasl.password_file ? `in ${sasl.password_file} ` : ''}is empty`);
  // The mechanism names of kafkajs are the config's (plain, scram-sha-256, scram-sha-512).
  return { mechanism: sasl.mechanism, username: sasl.username, password } as SASLOptions;
}

/** Reads a secret file; an error names the key and the path, never the content. */
function readSecretFile(key: string, path: string, readFile: ReadFile): string {
  try {
    return readFile(path);
  } catch (err) {
    throw new PharosError('invalid_config', `${key}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, false, { cause: err });
  }
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
