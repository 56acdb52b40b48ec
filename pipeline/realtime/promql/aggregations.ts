/**
 * Aggregation operators with Prometheus 2.x semantics: groups come out in the order their first
 * series appeared; topk/bottomk keep full labels and order each group's result by value, NaN last.
 */
import type { AggregateExpr } from './parse.js';
import { quantile } from './functions.js';
import { formatFloat, keepLabels, labelsKey, PromQLError, removeLabels, type Labels, type Sample } from './value.js';

interface Group {
  metric: Labels;
  value: number;
  mean: number;
  count: number;
  seen: boolean;
  values: number[];
  heap: Sample[];
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const groupers = new WeakMap<AggregateExpr, WeakMap<object, { labels: Labels; key: string }>>();

/** A series' group labels and key, memoized per aggregation node and label object (stable across steps). */
function groupOf(e: AggregateExpr, m: Labels): { labels: Labels; key: string } {
  let cache = groupers.get(e);
  if (!cache) groupers.set(e, (cache = new WeakMap()));
  let g = cache.get(m);
  if (!g) {
    const labels = e.without ? removeLabels(m, [...e.grouping, '__name__']) : keepLabels(m, e.grouping);
    cache.set(m, (g = { labels, key: labelsKey(labels) }));
  }
  return g;
}

export function aggregate(e: AggregateExpr, samples: Sample[], param: number | string | undefined): Sample[] {
  const groupLabels = (m: Labels): Labels => groupOf(e, m).labels;

  if (e.op === 'count_values') {
    const label = String(param);
    if (!LABEL_NAME.test(label)) throw new PromQLError('execution', `invalid label name ${JSON.stringify(label)}`);
    const groups = new Map<string, Sample>();
    const out: Sample[] = [];
    for (const s of samples) {
      const metric: Record<string, string> = { ...groupLabels(s.metric), [label]: formatFloat(s.v) };
      const k = labelsKey(metric);
      const g = groups.get(k);
      if (g) g.v++;
      else {
        const ns = { metric, v: 1 };
        groups.set(k, ns);
        out.push(ns);
      }
    }
    return out;
  }

  let k = 0;
  if (e.op === 'topk' || e.op === 'bottomk') {
    const p = Number(param);
    if (!Number.isNaN(p) && Math.abs(p) > 9.2e18) throw new PromQLError('execution', `Scalar value ${p} overflows int64`);
    k = Number.isNaN(p) ? 0 : Math.trunc(p);
    if (k < 1) return [];
  }

  const groups = new Map<string, Group>();
  const order: Group[] = [];
  for (const s of samples) {
    const { labels: gl, key } = groupOf(e, s.metric);
    let g = groups.get(key);
    if (!g) {
      g = { metric: gl, value: s.v, mean: s.v, count: 1, seen: false, values: [s.v], heap: [s] };
      groups.set(key, g);
      order.push(g);
      if (e.op === 'stddev' || e.op === 'stdvar') {
        g.mean = s.v;
        g.value = 0;
      }
      continue;
    }
    g.count++;
    const v = s.v;
    switch (e.op) {
      case 'sum': g.value += v; break;
      case 'avg':
        // Prometheus's incremental mean, which avoids overflow and keeps ±Inf sticky.
        if (!Number.isFinite(g.mean) && !Number.isNaN(g.mean)) {
          if (!Number.isFinite(v) && !Number.isNaN(v) && g.mean > 0 === v > 0) break;
          if (Number.isFinite(v)) break;
        }
        g.mean += v / g.count - g.mean / g.count;
        break;
      case 'group': break;
      case 'count': break;
      case 'max': if (g.value < v || Number.isNaN(g.value)) g.value = v; break;
      case 'min': if (g.value > v || Number.isNaN(g.value)) g.value = v; break;
      case 'stddev':
      case 'stdvar': {
        const delta = v - g.mean;
        g.mean += delta / g.count;
        g.value += delta * (v - g.mean);
        break;
      }
      case 'quantile': g.values.push(v); break;
      case 'topk':
      case 'bottomk': g.heap.push(s); break;
    }
  }

  const out: Sample[] = [];
  for (const g of order) {
    switch (e.op) {
      case 'sum': case 'max': case 'min':
        out.push({ metric: g.metric, v: g.value }); break;
      case 'avg': out.push({ metric: g.metric, v: g.mean }); break;
      case 'group': out.push({ metric: g.metric, v: 1 }); break;
      case 'count': out.push({ metric: g.metric, v: g.count }); break;
      case 'stdvar': out.push({ metric: g.metric, v: g.value / g.count }); break;
      case 'stddev': out.push({ metric: g.metric, v: Math.sqrt(g.value / g.count) }); break;
      case 'quantile': out.push({ metric: g.metric, v: quantile(Number(param), g.values) }); break;
      case 'topk':
      case 'bottomk': {
        const desc = e.op === 'topk';
        // NaN ranks below every value for topk and above every value for bottomk, so it is picked last.
        const sorted = [...g.heap].sort((a, b) => {
          const an = Number.isNaN(a.v), bn = Number.isNaN(b.v);
          if (an || bn) return an === bn ? 0 : an ? 1 : -1;
          return desc ? b.v - a.v : a.v - b.v;
        });
        out.push(...sorted.slice(0, k));
        break;
      }
    }
  }
  return out;
}

