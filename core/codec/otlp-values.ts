/**
 * What the two OTLP log encoders share (the protobufjs one in codec.ts and the hand-written
 * otlp-logs-writer.ts): they must map values identically, byte for byte.
 */

export const TWO_64 = 1n << 64n;

// Attribute values nest as AnyValue > KeyValueList > KeyValue (3 messages a level) under 5 outer
// messages; protobufjs refuses more than 100 nested messages, so deeper values are cut here.
export const MAX_VALUE_DEPTH = 20;

export function wellFormed(s: string): string {
  // Lone surrogates (a truncated line, a bad source) would be written as invalid UTF-8.
  return (s as unknown as { toWellFormed(): string }).toWellFormed();
}

const HEX = /^(?:[0-9a-fA-F]{2})+$/;

/** A trace or span id's bytes; undefined when empty or not hex. */
export function fromHex(hex: string): Uint8Array | undefined {
  return hex !== '' && HEX.test(hex) ? Buffer.from(hex, 'hex') : undefined;
}
