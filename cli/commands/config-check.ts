import { ConfigError, loadConfig } from '../../core/config/load.js';

/** `pharos config check FILE`: validates without starting anything; exit code 1 on any issue. */
export function runConfigCheck(file: string): number {
  try {
    const config = loadConfig({ file });
    process.stdout.write(`ok: ${file} is valid (bus: ${config.kafka.brokers.length ? config.kafka.brokers.join(',') : 'local/in-process'}, clickhouse: ${config.clickhouse.url ? 'server' : 'embedded chDB'})\n`);
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
