import { describe, expect, it } from 'vitest';
import { formatLocalTime, rowTimeMs, severityLabel, severityLevel } from './format.js';

describe('log row formatting', () => {
  it('maps OpenTelemetry severity numbers to their band', () => {
    const level = (n: number) => severityLevel({ severityNumber: n, severityText: '' });
    expect([1, 4, 5, 9, 12, 13, 17, 21, 24].map(level)).toEqual(['trace', 'trace', 'debug', 'info', 'info', 'warn', 'error', 'fatal', 'fatal']);
  });

  it('falls back to the severity text when the number is unset', () => {
    expect(severityLevel({ severityNumber: 0, severityText: 'Warning' })).toBe('warn');
    expect(severityLevel({ severityNumber: 0, severityText: 'crit' })).toBe('error');
    expect(severityLevel({ severityNumber: 0, severityText: '' })).toBe('unknown');
    expect(severityLabel({ severityNumber: 17, severityText: '' })).toBe('ERROR');
    expect(severityLabel({ severityNumber: 0, severityText: '' })).toBe('—');
  });

  it('uses the observed time when the event time is missing, keeping milliseconds exact', () => {
    expect(rowTimeMs({ timeUnixNano: '1738324800123456789', observedTimeUnixNano: '1' })).toBe(1738324800123);
    expect(rowTimeMs({ timeUnixNano: '0', observedTimeUnixNano: '1738324800999000000' })).toBe(1738324800999);
  });

  it('formats local time with millisecond precision', () => {
    const ms = new Date(2025, 0, 31, 9, 5, 7, 42).getTime();
    expect(formatLocalTime(ms)).toEqual({ date: '2025-01-31', time: '09:05:07.042' });
  });
});
