/**
 * Cardinality of the head in the shape of Prometheus's `/api/v1/status/tsdb` `data` field, plus
 * Pharos's memory figures, so Grafana and people used to Prometheus read it as they would there.
 */
import type { Head, HeadMemory } from './head.js';

export interface NameValue {
  name: string;
  value: number;
}

export interface TsdbStatus {
  headStats: {
    numSeries: number;
    numLabelPairs: number;
    chunkCount: number;
    /** ms since the epoch; Prometheus reports the same (and odd extremes when empty, which we avoid: null). */
    minTime: number | null;
    maxTime: number | null;
  };
  seriesCountByMetricName: NameValue[];
  labelValueCountByLabelName: NameValue[];
  memoryInBytesByLabelName: NameValue[];
  seriesCountByLabelValuePair: NameValue[];
  /** Not in Prometheus's answer: what this store holds in memory. */
  memory: HeadMemory;
}

export function tsdbStatus(head: Head, limit = 10): TsdbStatus {
  let chunkCount = 0;
  let minTime = Number.POSITIVE_INFINITY;
  let maxTime = Number.NEGATIVE_INFINITY;
  for (const s of head.allSeries()) {
    chunkCount += s.numChunks;
    if (s.numChunks > 0) {
      if (s.minT < minTime) minTime = s.minT;
      if (s.maxT > maxTime) maxTime = s.maxT;
    }
  }
  const valueCount: NameValue[] = [];
  const memoryByName: NameValue[] = [];
  const pairs: NameValue[] = [];
  let numLabelPairs = 0;
  for (const [name, values] of head.postings.entries()) {
    valueCount.push({ name, value: values.size });
    numLabelPairs += values.size;
    let bytes = 0;
    for (const [value, ids] of values) {
      // As Prometheus: the bytes of each distinct value (UTF-8), counted once per value.
      bytes += Buffer.byteLength(value);
      pairs.push({ name: `${name}=${value}`, value: ids.length });
    }
    memoryByName.push({ name, value: bytes });
  }
  const byName: NameValue[] = [...head.seriesCountByName()].map(([name, value]) => ({ name, value }));
  return {
    headStats: {
      numSeries: head.numSeries,
      numLabelPairs,
      chunkCount,
      minTime: chunkCount > 0 ? minTime : null,
      maxTime: chunkCount > 0 ? maxTime : null,
    },
    seriesCountByMetricName: top(byName, limit),
    labelValueCountByLabelName: top(valueCount, limit),
    memoryInBytesByLabelName: top(memoryByName, limit),
    seriesCountByLabelValuePair: top(pairs, limit),
    memory: head.memory(),
  };
}

function top(items: NameValue[], limit: number): NameValue[] {
  return items.sort((a, b) => b.value - a.value || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).slice(0, limit);
}
