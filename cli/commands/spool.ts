import { inspectSpool, type SegmentSummary } from '../../collector/spool/spool.js';

/**
 * `pharos spool inspect DIR`: the collector's disk spool, segment by segment. Read-only, safe
 * while a collector runs. Exit code 1 when DIR cannot be read, 0 otherwise (quarantined
 * segments are reported, they are not an error of this command).
 */
export async function runSpoolInspect(dir: string, o: { json?: boolean }): Promise<number> {
  let report: Awaited<ReturnType<typeof inspectSpool>>;
  try {
    report = await inspectSpool(dir);
  } catch (err) {
    process.stderr.write(`cannot read spool directory ${dir}: ${(err as Error).message}\n`);
    return 1;
  }
  if (o.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  }
  const rows = report.segments.map(row);
  const header = ['SEGMENT', 'STATE', 'BATCHES', 'RECORDS', 'BYTES', 'OLDEST SEQ', 'NEWEST SEQ', 'ACKED', 'DAMAGED BYTES'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const out = [`spool ${report.dir}: last acknowledged batch ${report.ackedSeq}`, line(header), ...rows.map(line)];
  const live = report.segments.filter((s) => s.state !== 'quarantined');
  const pending = live.reduce((n, s) => n + s.batches - s.acknowledgedBatches, 0);
  const quarantined = report.segments.length - live.length;
  out.push(
    `${live.length} live segment(s), ${pending} batch(es) waiting for Kafka, ${live.reduce((n, s) => n + s.bytes, 0)} bytes; ${quarantined} quarantined segment(s)`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

function row(s: SegmentSummary): string[] {
  return [s.name, s.state, String(s.batches), String(s.records), String(s.bytes), String(s.oldestSeq ?? '-'), String(s.newestSeq ?? '-'), String(s.acknowledgedBatches), String(s.damagedBytes)];
}
