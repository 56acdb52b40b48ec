/**
 * Silences (Alertmanager `silence/silence.go`). State is derived from startsAt/endsAt and the
 * time, never stored; expiring sets endsAt. Beyond Alertmanager: "until resolved" silences end
 * once nothing they matched still fires, a notice is emitted a lead time before a silence ends,
 * and an `expired` event lets the owner flush affected groups at once.
 */
import { randomUUID } from 'node:crypto';
import type { Clock, Labels } from '../model.js';
import { assertNever, compileMatcher, matchesAll, type CompiledMatcher, type Matcher } from './matchers.js';
import { AtomicJsonFile } from './json-file.js';
import type { Muter } from './mute-stage.js';

export type SilenceState = 'pending' | 'active' | 'expired';

export interface Silence {
  id: string;
  matchers: Matcher[];
  startsAt: number;
  endsAt: number;
  createdBy: string;
  comment: string;
  /** Ends by itself once no alert it silenced still fires. */
  untilResolved: boolean;
  updatedAt: number;
}

export interface SilenceInput {
  matchers: Matcher[];
  startsAt?: number | undefined;
  /** Required unless untilResolved. */
  endsAt?: number | undefined;
  createdBy: string;
  comment: string;
  untilResolved?: boolean | undefined;
}

export type SilenceEvent = { kind: 'created' | 'expiring_soon' | 'expired'; silence: Silence; atMs: number };

export function silenceState(s: Pick<Silence, 'startsAt' | 'endsAt'>, nowMs: number): SilenceState {
  if (s.endsAt <= nowMs) return 'expired';
  if (s.startsAt > nowMs) return 'pending';
  return 'active';
}

/** Silences survive restarts through this; saved whole after every change. */
export interface SilenceStore {
  load(): Promise<Silence[]>;
  save(all: readonly Silence[]): Promise<void>;
}

export class FileSilenceStore implements SilenceStore {
  private readonly file: AtomicJsonFile;
  constructor(path: string) {
    this.file = new AtomicJsonFile(path);
  }
  async load(): Promise<Silence[]> {
    const parsed = (await this.file.read()) as { silences?: Silence[] } | undefined;
    return parsed?.silences ?? [];
  }
  save(all: readonly Silence[]): Promise<void> {
    return this.file.write({ version: 1, silences: all });
  }
}

export class SilenceError extends Error {
  override name = 'SilenceError';
}

/** Stands for "no end" on until-resolved silences: far enough, and still a valid Date. */
export const NO_END = Date.UTC(9999, 0, 1);
/** setTimeout fires at once above this, so longer waits are re-armed in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const RETENTION_MS = 5 * 24 * 3600_000;

interface Entry {
  silence: Silence;
  compiled: CompiledMatcher[];
  /** Whether it has silenced a firing alert yet: an until-resolved silence must not end before its alert even fired. */
  sawFiring: boolean;
  timers: Array<{ dispose(): void }>;
}

export class Silences implements Muter {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly opts: {
      clock: Clock;
      noticeLeadMs: number;
      onEvent?: (e: SilenceEvent) => void;
      newId?: () => string;
      /** Called after every change with all silences: persist them. */
      onChange?: (all: readonly Silence[]) => void;
    },
  ) {}

  /** Puts back silences loaded from a store, without events; ones that ended meanwhile stay expired. */
  restore(silences: readonly Silence[]): void {
    for (const s of silences) {
      const e: Entry = { silence: s, compiled: s.matchers.map(compileMatcher), sawFiring: false, timers: [] };
      this.entries.set(s.id, e);
      if (silenceState(s, this.opts.clock.now()) !== 'expired') this.arm(e);
    }
  }

  create(input: SilenceInput): Silence {
    const now = this.opts.clock.now();
    if (input.matchers.length === 0) throw new SilenceError('a silence needs at least one matcher');
    const compiled = input.matchers.map((m) => {
      try {
        return compileMatcher(m);
      } catch (err) {
        throw new SilenceError((err as Error).message);
      }
    });
    // A silence matching everything (all matchers match the empty string) would mute every page.
    if (compiled.every((m) => m.matches({}))) throw new SilenceError('at least one matcher must not match the empty string');
    const untilResolved = input.untilResolved ?? false;
    const startsAt = input.startsAt ?? now;
    const endsAt = input.endsAt ?? (untilResolved ? NO_END : undefined);
    if (endsAt === undefined) throw new SilenceError('endsAt is required unless the silence lasts until resolved');
    if (endsAt <= startsAt) throw new SilenceError('endsAt must be after startsAt');
    if (endsAt <= now) throw new SilenceError('endsAt is in the past');
    const silence: Silence = {
      id: (this.opts.newId ?? randomUUID)(),
      matchers: input.matchers.map((m) => ({ name: m.name, type: m.type, value: m.value })),
      startsAt,
      endsAt,
      createdBy: input.createdBy,
      comment: input.comment,
      untilResolved,
      updatedAt: now,
    };
    const e: Entry = { silence, compiled, sawFiring: false, timers: [] };
    this.entries.set(silence.id, e);
    this.arm(e);
    this.changed();
    this.opts.onEvent?.({ kind: 'created', silence, atMs: now });
    return silence;
  }

  get(id: string): Silence | undefined {
    return this.entries.get(id)?.silence;
  }

  list(): Silence[] {
    const now = this.opts.clock.now();
    for (const [id, e] of this.entries) if (e.silence.endsAt + RETENTION_MS < now) this.entries.delete(id);
    return [...this.entries.values()].map((e) => e.silence);
  }

  /** Returns false when there is no such silence or it already expired. */
  expire(id: string): boolean {
    const e = this.entries.get(id);
    const now = this.opts.clock.now();
    if (!e) return false;
    const state = silenceState(e.silence, now);
    switch (state) {
      case 'expired':
        return false;
      case 'pending':
        e.silence = { ...e.silence, startsAt: now, endsAt: now, updatedAt: now };
        break;
      case 'active':
        e.silence = { ...e.silence, endsAt: now, updatedAt: now };
        break;
      default:
        assertNever(state);
    }
    this.disarm(e);
    this.changed();
    this.opts.onEvent?.({ kind: 'expired', silence: e.silence, atMs: now });
    return true;
  }

  mutedBy(labels: Labels, nowMs: number): string[] {
    const ids: string[] = [];
    for (const e of this.entries.values()) {
      if (silenceState(e.silence, nowMs) === 'active' && matchesAll(e.compiled, labels)) ids.push(e.silence.id);
    }
    return ids;
  }

  matches(id: string, labels: Labels): boolean {
    const e = this.entries.get(id);
    return e !== undefined && matchesAll(e.compiled, labels);
  }

  /** Ends until-resolved silences that silenced something once and now match no firing alert. */
  checkUntilResolved(firing: Iterable<Labels>): void {
    const now = this.opts.clock.now();
    const sets = [...firing];
    for (const e of this.entries.values()) {
      if (!e.silence.untilResolved || silenceState(e.silence, now) !== 'active') continue;
      const any = sets.some((l) => matchesAll(e.compiled, l));
      if (any) e.sawFiring = true;
      else if (e.sawFiring) this.expire(e.silence.id);
    }
  }

  countByState(nowMs: number): Record<SilenceState, number> {
    const out: Record<SilenceState, number> = { pending: 0, active: 0, expired: 0 };
    for (const e of this.entries.values()) out[silenceState(e.silence, nowMs)]++;
    return out;
  }

  stop(): void {
    for (const e of this.entries.values()) this.disarm(e);
  }

  private changed(): void {
    this.opts.onChange?.([...this.entries.values()].map((e) => e.silence));
  }

  private disarm(e: Entry): void {
    for (const t of e.timers) t.dispose();
    e.timers = [];
  }

  private arm(e: Entry): void {
    this.disarm(e);
    const { clock } = this.opts;
    const at = (atMs: number, fn: () => void) => {
      const delay = atMs - clock.now();
      if (delay > MAX_TIMER_MS) {
        e.timers.push(clock.setTimer(MAX_TIMER_MS, () => this.arm(e)));
        return;
      }
      e.timers.push(clock.setTimer(Math.max(0, delay), fn));
    };
    const s = e.silence;
    if (s.endsAt >= NO_END) return;
    const noticeAt = s.endsAt - this.opts.noticeLeadMs;
    if (this.opts.noticeLeadMs > 0 && noticeAt > clock.now()) {
      at(noticeAt, () => this.opts.onEvent?.({ kind: 'expiring_soon', silence: e.silence, atMs: clock.now() }));
    }
    at(s.endsAt, () => {
      this.disarm(e);
      this.opts.onEvent?.({ kind: 'expired', silence: e.silence, atMs: clock.now() });
    });
  }
}
