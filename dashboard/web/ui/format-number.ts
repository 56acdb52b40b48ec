/** Number formats shared by charts and cards: short, stable widths, units spelled the usual way. */

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatBytes(n: number, suffix = ''): string {
  if (!Number.isFinite(n)) return '–';
  let i = 0;
  let v = Math.abs(n);
  while (v >= 1024 && i < BYTE_UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${n < 0 ? '-' : ''}${v >= 100 || i === 0 ? v.toFixed(0) : v.toFixed(1)} ${BYTE_UNITS[i]}${suffix}`;
}

export function formatPercent(ratio: number): string {
  if (!Number.isFinite(ratio)) return '–';
  const p = ratio * 100;
  return `${p < 10 ? p.toFixed(1) : p.toFixed(0)}%`;
}

/** 1234 → 1.23k, 0.000123 → 1.23e-4: for axes and legends where the unit is unknown. */
export function formatShort(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a === 0) return '0';
  if (a < 1e-3) return n.toExponential(2);
  const units: Array<[number, string]> = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [size, unit] of units) if (a >= size) return `${trim(n / size)}${unit}`;
  return trim(n);
}

function trim(n: number): string {
  return String(Number(n.toPrecision(3)));
}

export function formatRate(perSecond: number, unit: string): string {
  if (!Number.isFinite(perSecond)) return '–';
  return `${formatShort(perSecond)} ${unit}/s`;
}
