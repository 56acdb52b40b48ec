/** Shared by the parser tests: a parser with an error log, and one parsed line as a record-like object. */
import type { FileInputConfig } from '../../core/config/schema.js';
import type { Attributes } from '../../core/model/records.js';
import type { ParseEvents } from './events.js';
import { createLineParser, type LineParser } from './parser.js';

export const TEST_NOW = Date.UTC(2026, 10, 23, 12, 0, 0);

export function testParser(input: Partial<Pick<FileInputConfig, 'parser' | 'pattern' | 'message_key' | 'time_key' | 'level_key' | 'time_format'>>) {
  const errors: string[] = [];
  const events: ParseEvents = { parseFailed: (reason) => errors.push(reason) };
  const parser: LineParser = createLineParser({ parser: 'plain', time_format: 'rfc3339', ...input }, events, () => TEST_NOW);
  const parse = (line: string) => {
    const attributes: Attributes = {};
    const r = parser.parse(line, attributes);
    return { body: r.body, time: r.timeUnixNano, severityNumber: r.severity.number, severityText: r.severity.text, attributes };
  };
  return { parse, errors };
}
