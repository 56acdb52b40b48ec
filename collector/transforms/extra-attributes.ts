/**
 * Attributes from the config stamped on records: an input's `attributes` (log attributes, over
 * parsed fields of the same name, under Pharos's own `log.file.*` and `pharos.*`, which the
 * caller stamps after), and `collector.resource` (resource attributes, added only where the
 * record's resource lacks the key, as OpenTelemetry's resource processor `insert` does: an app
 * that says which environment it runs in knows better than the host's collector).
 *
 * Both are compiled to key and value arrays once, so stamping a record is a loop of assignments.
 */
import type { Attributes } from '../../core/model/records.js';

export type AttributeStamp = (target: Attributes) => void;

/** Sets every configured attribute on `target`; undefined when none is configured. */
export function inputAttributeStamp(attributes: Readonly<Record<string, string>> | undefined): AttributeStamp | undefined {
  const keys = Object.keys(attributes ?? {});
  if (keys.length === 0) return undefined;
  const values = keys.map((k) => attributes![k]!);
  return (target) => {
    for (let i = 0; i < keys.length; i++) set(target, keys[i]!, values[i]!);
  };
}

/** Adds each configured resource attribute that `resource` lacks; undefined when none is configured. */
export function resourceDefaultsStamp(resource: Readonly<Record<string, string>> | undefined): AttributeStamp | undefined {
  const keys = Object.keys(resource ?? {});
  if (keys.length === 0) return undefined;
  const values = keys.map((k) => resource![k]!);
  return (target) => {
    for (let i = 0; i < keys.length; i++) if (!Object.hasOwn(target, keys[i]!)) set(target, keys[i]!, values[i]!);
  };
}

function set(out: Attributes, key: string, value: string): void {
  // A key named __proto__ would change the object's prototype instead of adding an attribute.
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}
