/**
 * Silences on a KeyedStore (one key per silence id), so a standby taking over mutes what the
 * active evaluator muted. Silences hands over the whole set on each change; only what changed
 * is written.
 */
import type { Silence, SilenceStore } from '../notify/silences.js';
import type { KeyedStore } from './keyed-store.js';

export class KeyedSilenceStore implements SilenceStore {
  private readonly written = new Map<string, string>();

  constructor(private readonly store: KeyedStore<Silence>) {}

  async load(): Promise<Silence[]> {
    const all = await this.store.load();
    for (const [id, s] of all) this.written.set(id, JSON.stringify(s));
    return [...all.values()];
  }

  async save(all: readonly Silence[]): Promise<void> {
    const ids = new Set<string>();
    const writes: Promise<void>[] = [];
    for (const s of all) {
      ids.add(s.id);
      const text = JSON.stringify(s);
      if (this.written.get(s.id) === text) continue;
      this.written.set(s.id, text);
      writes.push(this.store.put(s.id, s));
    }
    for (const id of [...this.written.keys()]) {
      if (ids.has(id)) continue;
      this.written.delete(id);
      writes.push(this.store.put(id, undefined));
    }
    await Promise.all(writes);
  }
}
