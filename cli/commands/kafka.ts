/**
 * `pharos kafka`: runs the local development broker in the foreground until Ctrl-C or SIGTERM,
 * for working on one component against a real Kafka without `pharos all`.
 */
import { PharosError } from '../../core/errors.js';
import { LocalBroker } from '../../core/kafka/local-broker.js';
import type { Logger } from '../../core/log.js';

export interface RunKafkaOptions {
  version: string;
  port: number;
  controllerPort: number;
  cacheDir: string;
  dataDir: string;
  log: Logger;
}

export async function runKafka(opts: RunKafkaOptions): Promise<void> {
  const broker = await LocalBroker.start(opts);
  const bootstrap = broker.brokers.join(',');
  process.stdout.write(`Kafka ${opts.version} is running: bootstrap servers ${bootstrap} (data in ${broker.dataDir}; Ctrl-C stops it)\n`);

  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  let onSignal: (signal: NodeJS.Signals) => void = () => undefined;
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    let count = 0;
    onSignal = (signal) => {
      count += 1;
      // A second Ctrl-C means "now": the exit handler and watchdog in LocalBroker still take the JVM down.
      if (count > 1) process.exit(130);
      resolve(signal);
    };
  });
  for (const s of signals) process.on(s, onSignal);
  try {
    const outcome = await Promise.race([signalled, broker.exited.then((exit) => ({ exit }))]);
    if (typeof outcome === 'object') {
      throw new PharosError(
        'kafka_start_failed',
        `the local Kafka broker exited on its own (code ${outcome.exit.code}, signal ${outcome.exit.signal}); see ${broker.dataDir}/server.log`,
      );
    }
    opts.log.info({ signal: outcome }, 'stopping the local Kafka broker');
    await broker.stop();
    opts.log.info({ brokers: broker.brokers }, 'local Kafka broker stopped');
  } finally {
    for (const s of signals) process.removeListener(s, onSignal);
  }
}
