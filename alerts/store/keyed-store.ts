/**
 * Latest value per key, kept across restarts: what escalation state and the notification log
 * need. A file on one machine, or a compacted Kafka topic (kafka-keyed-store.ts) so a standby
 * taking over reads what the active evaluator wrote.
 */
import { AtomicJsonFile } from '../notify/json-file.js';

export interface KeyedStore<T> {
  load(): Promise<Map<string, T>>;
  /** undefined deletes the key. Resolves once durable. */
  put(key: string, value: T | undefined): Promise<void>;
}

/** One JSON file holding every key, rewritten atomically on each put. */
export class FileKeyedStore<T> implements KeyedStore<T> {
  private readonly entries = new Map<string, T>();
  private readonly file: AtomicJsonFile;

  constructor(path: string) {
    this.file = new AtomicJsonFile(path);
  }

  async load(): Promise<Map<string, T>> {
    const parsed = (await this.file.read()) as { entries?: Record<string, T> } | undefined;
    for (const [k, v] of Object.entries(parsed?.entries ?? {})) this.entries.set(k, v);
    return new Map(this.entries);
  }

  put(key: string, value: T | undefined): Promise<void> {
    if (value === undefined) this.entries.delete(key);
    else this.entries.set(key, value);
    return this.file.write({ version: 1, entries: Object.fromEntries(this.entries) });
  }
}

export class MemoryKeyedStore<T> implements KeyedStore<T> {
  readonly entries = new Map<string, T>();
  load(): Promise<Map<string, T>> {
    return Promise.resolve(new Map(this.entries));
  }
  put(key: string, value: T | undefined): Promise<void> {
    if (value === undefined) this.entries.delete(key);
    else this.entries.set(key, value);
    return Promise.resolve();
  }
}
