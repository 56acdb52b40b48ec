/**
 * Prometheus durations (`1h30m`, `500ms`): units from largest to smallest, each at most once, as
 * `model.ParseDuration` accepts them — so a file promtool accepts is accepted here and vice versa.
 */
const UNITS: ReadonlyArray<readonly [string, number]> = [
  ['y', 365 * 24 * 3600_000],
  ['w', 7 * 24 * 3600_000],
  ['d', 24 * 3600_000],
  ['h', 3600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
];

/** Milliseconds of a duration, or undefined when it is not one. `0` alone is accepted, as Prometheus does. */
export function parseDurationMs(text: string): number | undefined {
  if (text === '0') return 0;
  const re = /(\d+)(ms|y|w|d|h|m|s)/y;
  let pos = 0;
  let last = -1;
  let total = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) return undefined;
    const idx = UNITS.findIndex(([u]) => u === m[2]);
    if (idx <= last) return undefined;
    last = idx;
    total += Number(m[1]) * UNITS[idx]![1];
    pos = re.lastIndex;
  }
  return pos === 0 || !Number.isSafeInteger(total) ? undefined : total;
}

/** The same, throwing on what is not a duration (config already validated with parseDurationMs). */
export function durationMs(text: string): number {
  const v = parseDurationMs(text);
  if (v === undefined) throw new Error(`invalid duration "${text}"`);
  return v;
}
