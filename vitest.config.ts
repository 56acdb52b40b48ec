import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    // One Kafka broker for the whole run, shared by all files.
    globalSetup: ['test/harness/kafka.ts'],
    // kafkajs reads LZ4 batches (kafka.compression: lz4) in every test process, also through a bare kafkajs client.
    setupFiles: ['core/kafka/lz4.ts'],
    // Forks, not threads: process-wide state (env, signal and exit handlers, native addons) stays per test file.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: true,
    // Two cores, and the broker's JVM needs one of them.
    maxWorkers: 2,
  },
});
