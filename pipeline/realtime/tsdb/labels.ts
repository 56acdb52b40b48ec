/**
 * A series' identity: its label set including `__name__`, and one canonical string of it. The
 * string is the key of the head's series map (JS hashes it for us) and its order is Prometheus's
 * labels order (by name, then value), so sorting keys sorts series as Prometheus returns them.
 */
import type { Labels } from '../storage.js';

export const METRIC_NAME = '__name__';

// Separators below every printable character keep "a"+"bc" apart from "ab"+"c" and sort like labels.Compare.
const NAME_END = '\u0000';
const PAIR_END = '\u0001';

/** Builds the frozen label set of a sample: its labels plus `__name__`, keys sorted. */
export function seriesLabels(name: string, labels: Readonly<Record<string, string>>): Labels {
  const out: Record<string, string> = {};
  const names = Object.keys(labels).filter((k) => k !== METRIC_NAME && labels[k] !== '');
  names.push(METRIC_NAME);
  names.sort();
  for (const k of names) {
    const v = k === METRIC_NAME ? name : labels[k]!;
    // "__proto__" as a label name must stay data.
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: false, configurable: false });
  }
  return Object.freeze(out);
}

/**
 * A 32-bit hash of the label set seriesLabels(name, labels) builds, computed without building it
 * or sorting: appends look their series up once per sample, and a sum of per-pair hashes does not
 * depend on key order. Collisions are resolved by sameLabels().
 */
export function sampleHash(name: string, labels: Readonly<Record<string, string>>): number {
  let h = pairHash(METRIC_NAME, name);
  for (const k in labels) {
    const v = labels[k]!;
    if (v !== '' && k !== METRIC_NAME) h = (h + pairHash(k, v)) >>> 0;
  }
  return h;
}

/** FNV-1a over name, a separator and value, then a final mix so sums of pairs spread well. */
function pairHash(k: string, v: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < k.length; i++) h = Math.imul(h ^ k.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ 0xff, 0x01000193);
  for (let i = 0; i < v.length; i++) h = Math.imul(h ^ v.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

/** Whether `series` (built by seriesLabels, with `size` keys) is the label set of this sample. */
export function sameLabels(series: Labels, size: number, name: string, labels: Readonly<Record<string, string>>): boolean {
  if (series[METRIC_NAME] !== name) return false;
  let n = 1;
  for (const k in labels) {
    const v = labels[k]!;
    if (v === '' || k === METRIC_NAME) continue;
    if (!Object.hasOwn(series, k) || series[k] !== v) return false;
    n++;
  }
  return n === size;
}

/** Canonical key of a label set whose keys are sorted (as seriesLabels makes them). */
export function labelsKey(labels: Labels): string {
  let key = '';
  for (const k in labels) key += k + NAME_END + labels[k] + PAIR_END;
  return key;
}
