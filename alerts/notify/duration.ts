/** Prometheus-style durations ('30s', '5m', '1h30m', '0s') as config strings, read into milliseconds. */
const UNITS: ReadonlyArray<[string, number]> = [
  ['y', 365 * 24 * 3600_000],
  ['w', 7 * 24 * 3600_000],
  ['d', 24 * 3600_000],
  ['h', 3600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
];
const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

export function parseDuration(s: string): number | undefined {
  if (s === '0') return 0;
  const m = DURATION.exec(s);
  if (!m || s === '') return undefined;
  let total = 0;
  UNITS.forEach(([, ms], i) => {
    const v = m[i + 1];
    if (v !== undefined) total += Number(v) * ms;
  });
  return total;
}

export function durationMs(s: string): number {
  const v = parseDuration(s);
  if (v === undefined) throw new Error(`invalid duration "${s}"`);
  return v;
}
