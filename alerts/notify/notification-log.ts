/**
 * What was last sent to each receiver integration for each group (Alertmanager `nflog`). The
 * source of truth for "never page twice": it is persisted, so a restart or a standby taking over
 * reads it back before sending anything.
 */
import { AtomicJsonFile } from './json-file.js';
import type { KeyedStore } from '../store/keyed-store.js';

export interface Entry {
  groupKey: string;
  /** Receiver name and integration, e.g. `oncall/webhook[0]`. */
  receiver: string;
  /** Fingerprints in the last notification. */
  firing: string[];
  resolved: string[];
  atMs: number;
}

export type NotifyReason = 'first_notification' | 'new_firing' | 'all_resolved' | 'newly_resolved' | 'repeat_interval' | 'silence_ended';

/**
 * Whether a group must be sent again, and why (Alertmanager `DedupStage.needsUpdate`). Pure:
 * every input is an argument.
 */
export function needsNotify(
  last: Entry | undefined,
  firing: ReadonlySet<string>,
  resolved: ReadonlySet<string>,
  repeatMs: number,
  nowMs: number,
  sendResolved = true,
): NotifyReason | null {
  if (!last) return firing.size > 0 ? 'first_notification' : null;
  const lastFiring = new Set(last.firing);
  for (const f of firing) if (!lastFiring.has(f)) return 'new_firing';
  if (firing.size === 0) return last.firing.length > 0 ? 'all_resolved' : null;
  if (sendResolved) {
    const lastResolved = new Set(last.resolved);
    for (const r of resolved) if (!lastResolved.has(r)) return 'newly_resolved';
  }
  return last.atMs + repeatMs <= nowMs ? 'repeat_interval' : null;
}

export interface NotificationLogStore {
  load(): Promise<Entry[]>;
  save(entry: Entry): Promise<void>;
}

export function entryKey(groupKey: string, receiver: string): string {
  return `${receiver}\u0000${groupKey}`;
}

/** The in-memory view every stage reads; writes go through to the store before a send counts as logged. */
export class NotificationLog {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly store: NotificationLogStore | undefined, private readonly retentionMs: number) {}

  async load(): Promise<void> {
    if (!this.store) return;
    for (const e of await this.store.load()) this.entries.set(entryKey(e.groupKey, e.receiver), e);
  }

  get(groupKey: string, receiver: string): Entry | undefined {
    return this.entries.get(entryKey(groupKey, receiver));
  }

  async log(entry: Entry): Promise<void> {
    this.entries.set(entryKey(entry.groupKey, entry.receiver), entry);
    for (const [k, e] of this.entries) if (e.atMs + this.retentionMs < entry.atMs) this.entries.delete(k);
    await this.store?.save(entry);
  }

  all(): Entry[] {
    return [...this.entries.values()];
  }
}

/**
 * The log in one JSON file, rewritten whole on each save through a temporary file and rename, so
 * a crash leaves either the old or the new file, never half of one.
 */
export class FileNotificationLogStore implements NotificationLogStore {
  private readonly entries = new Map<string, Entry>();
  private readonly file: AtomicJsonFile;

  constructor(path: string, private readonly retentionMs = 120 * 3600_000) {
    this.file = new AtomicJsonFile(path);
  }

  async load(): Promise<Entry[]> {
    const parsed = (await this.file.read()) as { entries?: Entry[] } | undefined;
    for (const e of parsed?.entries ?? []) this.entries.set(entryKey(e.groupKey, e.receiver), e);
    return [...this.entries.values()];
  }

  save(entry: Entry): Promise<void> {
    this.entries.set(entryKey(entry.groupKey, entry.receiver), entry);
    for (const [k, e] of this.entries) if (e.atMs + this.retentionMs < entry.atMs) this.entries.delete(k);
    return this.file.write({ version: 1, entries: [...this.entries.values()] });
  }
}

/**
 * The log on a KeyedStore (a compacted Kafka topic when there is one), one key per group and
 * integration, so a standby that takes over knows what the active evaluator already sent.
 */
export class KeyedNotificationLogStore implements NotificationLogStore {
  constructor(
    private readonly store: KeyedStore<Entry>,
    private readonly retentionMs = 120 * 3600_000,
    private readonly nowMs: () => number = Date.now,
  ) {}

  async load(): Promise<Entry[]> {
    const all = await this.store.load();
    const out: Entry[] = [];
    const cutoff = this.nowMs() - this.retentionMs;
    for (const [k, e] of all) {
      if (e.atMs < cutoff) await this.store.put(k, undefined);
      else out.push(e);
    }
    return out;
  }

  save(entry: Entry): Promise<void> {
    return this.store.put(entryKey(entry.groupKey, entry.receiver), entry);
  }
}
