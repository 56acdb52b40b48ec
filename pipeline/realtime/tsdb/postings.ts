/**
 * The inverted index: label name → label value → ascending series ids. Ids are handed out in
 * increasing order, so appending keeps every list sorted without a sort.
 */
import type { LabelMatcher, Labels } from '../storage.js';
import { compileMatcher } from './matcher.js';

export class MemPostings {
  private readonly index = new Map<string, Map<string, number[]>>();
  private all: number[] = [];

  add(id: number, labels: Labels): void {
    this.all.push(id);
    for (const name in labels) {
      let values = this.index.get(name);
      if (!values) {
        values = new Map();
        this.index.set(name, values);
      }
      const list = values.get(labels[name]!);
      if (list) list.push(id);
      else values.set(labels[name]!, [id]);
    }
  }

  /** Removes series in one pass per touched list (truncation removes many at once). */
  delete(removed: ReadonlyMap<number, Labels>): void {
    if (removed.size === 0) return;
    this.all = this.all.filter((id) => !removed.has(id));
    const touched = new Map<string, Set<string>>();
    for (const labels of removed.values()) {
      for (const name in labels) {
        let s = touched.get(name);
        if (!s) touched.set(name, (s = new Set()));
        s.add(labels[name]!);
      }
    }
    for (const [name, valuesTouched] of touched) {
      const values = this.index.get(name);
      if (!values) continue;
      for (const value of valuesTouched) {
        const kept = (values.get(value) ?? []).filter((id) => !removed.has(id));
        if (kept.length) values.set(value, kept);
        else values.delete(value);
      }
      if (values.size === 0) this.index.delete(name);
    }
  }

  get numSeries(): number {
    return this.all.length;
  }

  labelNames(): string[] {
    return [...this.index.keys()].sort();
  }

  /** value → ids for one label name (empty when no series has it). */
  values(name: string): ReadonlyMap<string, readonly number[]> {
    return this.index.get(name) ?? new Map();
  }

  entries(): IterableIterator<[string, Map<string, number[]>]> {
    return this.index.entries();
  }

  /**
   * Ids of series matching every matcher, ascending. A matcher that rejects the empty string
   * selects the union of its matching values' lists; one that accepts it (so series lacking the
   * label match too) is applied by subtracting the lists of the values it rejects.
   */
  select(matchers: readonly LabelMatcher[]): number[] {
    const include: (readonly number[])[] = [];
    const exclude: (readonly number[])[] = [];
    for (const m of matchers) {
      const match = compileMatcher(m);
      const values = this.values(m.name);
      if (!match('')) {
        include.push(m.type === '=' ? (values.get(m.value) ?? []) : union(values, match, true));
      } else {
        exclude.push(m.type === '!=' ? (values.get(m.value) ?? []) : union(values, match, false));
      }
    }
    let out: number[];
    if (include.length === 0) {
      out = this.all.slice();
    } else {
      include.sort((a, b) => a.length - b.length);
      out = include[0]!.slice();
      for (let i = 1; i < include.length && out.length > 0; i++) out = intersect(out, include[i]!);
    }
    for (const list of exclude) if (out.length > 0 && list.length > 0) out = subtract(out, list);
    return out;
  }
}

function union(values: ReadonlyMap<string, readonly number[]>, match: (v: string) => boolean, want: boolean): readonly number[] {
  const lists: (readonly number[])[] = [];
  let total = 0;
  for (const [v, ids] of values) {
    if (match(v) === want) {
      lists.push(ids);
      total += ids.length;
    }
  }
  if (lists.length === 0) return [];
  if (lists.length === 1) return lists[0]!;
  // A series has one value per label name, so the lists are disjoint: a sort is enough.
  const merged = new Float64Array(total);
  let n = 0;
  for (const l of lists) for (const id of l) merged[n++] = id;
  merged.sort();
  return Array.from(merged);
}

function intersect(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      out.push(x);
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return out;
}

function subtract(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let j = 0;
  for (const x of a) {
    while (j < b.length && b[j]! < x) j++;
    if (j >= b.length || b[j] !== x) out.push(x);
  }
  return out;
}
