/**
 * Plain text: the line is the body, severity comes from a level keyword near its start, and the
 * event time is left to the observed time. This is also what every other parser falls back to
 * for a line it cannot read, so nothing is dropped.
 */
import type { ParsedLine } from './parser.js';
import { detectSeverity } from './severity.js';

export function parsePlain(line: string): ParsedLine {
  return { body: line, timeUnixNano: 0n, severity: detectSeverity(line) };
}
