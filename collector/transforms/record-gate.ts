/**
 * What every log record passes on its way to the sink, whatever its source: the collector-wide
 * resource defaults (`collector.resource`), then the input's own filter and the collector-wide
 * one (`collector.filters`), a drop counted by source and reason. Sources call it before they
 * stamp `pharos.seq`: a dropped record takes no sequence number, so it is not a gap in the
 * delivery report, and is reported as a drop instead (collector/drop-report.ts).
 */
import type { PharosConfig } from '../../core/config/schema.js';
import type { Attributes, LogRecord } from '../../core/model/records.js';
import type { Registry } from '../../core/telemetry/registry.js';
import { countDrop, dropEvents, type DropEvents } from './drop-events.js';
import { resourceDefaultsStamp } from './extra-attributes.js';
import { compileFilter, type LogFilter } from './filter.js';

export interface RecordGate {
  /** Whether any filter may drop records: sources that write records without objects must not skip the gate then. */
  readonly filtering: boolean;
  /** `resource` with the collector's defaults added: a copy when it lacked any (resources may be shared and frozen). */
  resource(resource: Attributes): Attributes;
  /** False (and the drop counted) when `inputFilter` or the collector-wide filter drops `r`. */
  admit(r: LogRecord, inputFilter?: LogFilter): boolean;
}

export function createRecordGate(collector: PharosConfig['collector'], registry: Registry): RecordGate {
  const filter = compileFilter(collector.filters, { reasonPrefix: 'collector.' });
  const stamp = resourceDefaultsStamp(collector.resource);
  const anyInputFilter = collector.files.some((f) => compileFilter(f.filters) !== undefined);
  // Registered only where a filter exists: without one the report has no drops to show.
  let events: DropEvents | undefined;
  const drops = () => (events ??= dropEvents(registry));
  if (filter !== undefined || anyInputFilter) drops();
  const stamped = new WeakMap<Attributes, Attributes>();
  return {
    filtering: filter !== undefined || anyInputFilter,
    resource(resource) {
      if (stamp === undefined) return resource;
      let out = stamped.get(resource);
      if (out === undefined) {
        out = { ...resource };
        stamp(out);
        stamped.set(resource, out);
      }
      return out;
    },
    admit(r, inputFilter) {
      const reason = inputFilter?.decide(r) ?? filter?.decide(r);
      if (reason === undefined) return true;
      countDrop(drops(), r, reason);
      return false;
    },
  };
}
