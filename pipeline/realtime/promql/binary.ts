/**
 * Binary operators with Prometheus 2.x vector matching (one-to-one, group_left/group_right, set
 * operators) and its errors.
 */
import { isComparison, type BinaryExpr, type BinaryOp, type VectorMatching } from './parse.js';
import { dropName, formatLabels, keepLabels, labelsKey, memoLabels, PromQLError, removeLabels, type Labels, type Sample, type Value } from './value.js';

/** Go's math.Pow where it differs from JS (1^NaN, (-1)^±Inf are 1 in Go). */
function pow(x: number, y: number): number {
  if (x === 1) return 1;
  if (x === -1 && !Number.isFinite(y) && !Number.isNaN(y)) return 1;
  return Math.pow(x, y);
}

/** Returns the value and whether a comparison kept the sample (always true for arithmetic). */
export function scalarBinop(op: BinaryOp, l: number, r: number): [number, boolean] {
  switch (op) {
    case '+': return [l + r, true];
    case '-': return [l - r, true];
    case '*': return [l * r, true];
    case '/': return [l / r, true];
    case '%': return [l % r, true];
    case '^': return [pow(l, r), true];
    case 'atan2': return [Math.atan2(l, r), true];
    case '==': return [l, l === r];
    case '!=': return [l, l !== r];
    case '>': return [l, l > r];
    case '<': return [l, l < r];
    case '>=': return [l, l >= r];
    case '<=': return [l, l <= r];
    default: throw new PromQLError('internal', `operator ${JSON.stringify(op)} not allowed for scalar operations`);
  }
}

const NAME_DROPPING = new Set<BinaryOp>(['+', '-', '*', '/', '%', '^']);

/** `bool` and arithmetic drop the metric name; a filtering comparison keeps it, and so (in 2.x) does atan2. */
const dropsName = (op: BinaryOp, returnBool: boolean): boolean => returnBool || NAME_DROPPING.has(op);

export function binaryOp(e: BinaryExpr, lhs: Value, rhs: Value): Value {
  if (lhs.type === 'scalar' && rhs.type === 'scalar') {
    const [v, keep] = scalarBinop(e.op, lhs.v, rhs.v);
    return { type: 'scalar', v: e.returnBool ? (keep ? 1 : 0) : v };
  }
  if (lhs.type === 'vector' && rhs.type === 'vector') {
    const m = e.matching!;
    switch (e.op) {
      case 'and': return { type: 'vector', samples: and(lhs.samples, rhs.samples, m) };
      case 'or': return { type: 'vector', samples: or(lhs.samples, rhs.samples, m) };
      case 'unless': return { type: 'vector', samples: unless(lhs.samples, rhs.samples, m) };
      default: return { type: 'vector', samples: vectorBinop(e, lhs.samples, rhs.samples, m) };
    }
  }
  const swap = lhs.type === 'scalar';
  const vec = (swap ? rhs : lhs) as Extract<Value, { type: 'vector' }>;
  const scalar = (swap ? lhs : rhs) as Extract<Value, { type: 'scalar' }>;
  const out: Sample[] = [];
  const drop = dropsName(e.op, e.returnBool);
  for (const s of vec.samples) {
    const [l, r] = swap ? [scalar.v, s.v] : [s.v, scalar.v];
    let [v, keep] = scalarBinop(e.op, l, r);
    // A comparison keeps the vector's value even when the scalar is on the left.
    if (isComparison(e.op) && swap) v = r;
    if (e.returnBool) {
      v = keep ? 1 : 0;
      keep = true;
    }
    if (!keep) continue;
    out.push({ metric: drop ? dropName(s.metric) : s.metric, v });
  }
  return { type: 'vector', samples: out };
}

const signatures = new WeakMap<VectorMatching, (l: Labels) => string>();

/** The matching signature of a label set; memoized per label object, which stays the same across steps. */
function signatureFn(m: VectorMatching): (l: Labels) => string {
  let fn = signatures.get(m);
  if (!fn) {
    const ignored = [...m.labels, '__name__'];
    const project = memoLabels(m.on ? (l) => keepLabels(l, m.labels) : (l) => removeLabels(l, ignored));
    fn = (l) => labelsKey(project(l));
    signatures.set(m, fn);
  }
  return fn;
}

function and(lhs: Sample[], rhs: Sample[], m: VectorMatching): Sample[] {
  if (lhs.length === 0 || rhs.length === 0) return [];
  const sig = signatureFn(m);
  const right = new Set(rhs.map((s) => sig(s.metric)));
  return lhs.filter((s) => right.has(sig(s.metric)));
}

function or(lhs: Sample[], rhs: Sample[], m: VectorMatching): Sample[] {
  if (lhs.length === 0) return rhs;
  if (rhs.length === 0) return lhs;
  const sig = signatureFn(m);
  const left = new Set(lhs.map((s) => sig(s.metric)));
  return [...lhs, ...rhs.filter((s) => !left.has(sig(s.metric)))];
}

function unless(lhs: Sample[], rhs: Sample[], m: VectorMatching): Sample[] {
  if (lhs.length === 0 || rhs.length === 0) return lhs;
  const sig = signatureFn(m);
  const right = new Set(rhs.map((s) => sig(s.metric)));
  return lhs.filter((s) => !right.has(sig(s.metric)));
}

function matchedLabels(l: Labels, m: VectorMatching): Labels {
  return m.on ? keepLabels(l, m.labels) : removeLabels(l, [...m.labels, '__name__']);
}

function vectorBinop(e: BinaryExpr, lhsIn: Sample[], rhsIn: Sample[], m: VectorMatching): Sample[] {
  if (lhsIn.length === 0 || rhsIn.length === 0) return [];
  const sig = signatureFn(m);
  // The "many" side is always handled as the left one.
  const [lhs, rhs] = m.card === 'one-to-many' ? [rhsIn, lhsIn] : [lhsIn, rhsIn];
  const rightSigs = new Map<string, Sample>();
  for (const rs of rhs) {
    const s = sig(rs.metric);
    const dup = rightSigs.get(s);
    if (dup) {
      const oneSide = m.card === 'one-to-many' ? 'left' : 'right';
      throw new PromQLError(
        'execution',
        `found duplicate series for the match group ${formatLabels(matchedLabels(rs.metric, m))} on the ${oneSide} hand-side of the operation: [${formatLabels(rs.metric)}, ${formatLabels(dup.metric)}];many-to-many matching not allowed: matching labels must be unique on one side`,
      );
    }
    rightSigs.set(s, rs);
  }
  const matchedSigs = new Map<string, Set<string> | null>();
  const out: Sample[] = [];
  const drop = dropsName(e.op, e.returnBool);
  for (const ls of lhs) {
    const s = sig(ls.metric);
    const rs = rightSigs.get(s);
    if (!rs) continue;
    let [vl, vr] = [ls.v, rs.v];
    if (m.card === 'one-to-many') [vl, vr] = [vr, vl];
    let [value, keep] = scalarBinop(e.op, vl, vr);
    if (e.returnBool) {
      value = keep ? 1 : 0;
      keep = true;
    }
    if (!keep) continue;
    const metric = resultMetric(ls.metric, rs.metric, m, drop);
    const exists = matchedSigs.has(s);
    if (m.card === 'one-to-one') {
      if (exists) throw new PromQLError('execution', 'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
      matchedSigs.set(s, null);
    } else {
      const insertSig = labelsKey(metric);
      let inserted = matchedSigs.get(s);
      if (!inserted) matchedSigs.set(s, (inserted = new Set()));
      else if (inserted.has(insertSig)) throw new PromQLError('execution', 'multiple matches for labels: grouping labels must ensure unique matches');
      inserted.add(insertSig);
    }
    out.push({ metric, v: value });
  }
  return out;
}

const resultCache = new WeakMap<VectorMatching, WeakMap<object, WeakMap<object, Labels>>[]>();

/** resultMetric memoized per (matching, drop, lhs labels, rhs labels): the same pairs recur every step. */
function resultMetric(l: Labels, r: Labels, m: VectorMatching, drop: boolean): Labels {
  let perM = resultCache.get(m);
  if (!perM) resultCache.set(m, (perM = [new WeakMap(), new WeakMap()]));
  const byL = perM[drop ? 1 : 0]!;
  let byR = byL.get(l);
  if (!byR) byL.set(l, (byR = new WeakMap()));
  let out = byR.get(r);
  if (!out) byR.set(r, (out = computeResultMetric(l, r, m, drop)));
  return out;
}

function computeResultMetric(l: Labels, r: Labels, m: VectorMatching, drop: boolean): Labels {
  let out: Record<string, string> = drop ? { ...dropName(l) } : { ...l };
  if (m.card === 'one-to-one') {
    out = m.on ? keepLabels(out, m.labels) : removeLabels(out, m.labels);
  }
  for (const ln of m.include) {
    const v = r[ln];
    if (v !== undefined && v !== '') out[ln] = v;
    else delete out[ln];
  }
  return out;
}
