/** Fetches the Kafka jars into the cache before the tests, so CI shows that step on its own. */
import { createLogger } from '../../core/log.js';
import { defaultKafkaCacheDir, provisionKafka } from '../../core/kafka/local-broker.js';
import { configSchema } from '../../core/config/schema.js';

const version = configSchema.parse({}).kafka.local.version;
const libs = await provisionKafka({ version, cacheDir: defaultKafkaCacheDir(), log: createLogger({ level: 'info' }) });
console.log(`kafka ${version} jars ready in ${libs}`);
