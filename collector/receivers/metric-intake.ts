/**
 * Where pushed and scraped samples enter the collector's metric path: label limits first (label
 * count, label value length), then the per-metric series budget, then the metric sender (the
 * metrics topic). What is refused is counted by reason and said in one sentence the client gets
 * back (OTLP partial success) and the log gets (rate-limited).
 */
import type { MetricSample } from '../../core/model/records.js';
import type { MetricSender } from '../sinks/metric-sender.js';
import type { CardinalityBudget } from '../transforms/cardinality.js';
import type { RejectEvents } from './events.js';

export interface MetricLimits {
  maxLabels: number;
  maxLabelValueBytes: number;
}

export class MetricIntake {
  constructor(
    private readonly sender: Pick<MetricSender, 'enqueue' | 'healthy'>,
    private readonly budget: CardinalityBudget,
    private readonly limits: MetricLimits,
    private readonly events: RejectEvents,
  ) {}

  healthy(): boolean {
    return this.sender.healthy();
  }

  /** Queues what passes; returns how many samples were refused and why, in one sentence. */
  push(samples: MetricSample[]): { rejected: number; message: string } {
    const { maxLabels, maxLabelValueBytes } = this.limits;
    const passed: MetricSample[] = [];
    let tooMany = 0;
    let tooLong = 0;
    let example = '';
    for (const s of samples) {
      const names = Object.keys(s.labels);
      if (names.length > maxLabels) {
        tooMany++;
        example ||= s.name;
        continue;
      }
      let long = false;
      for (const k of names) {
        const v = s.labels[k]!;
        if (v.length > maxLabelValueBytes / 3 && Buffer.byteLength(v) > maxLabelValueBytes) {
          long = true;
          break;
        }
      }
      if (long) {
        tooLong++;
        example ||= s.name;
        continue;
      }
      passed.push(s);
    }
    const messages: string[] = [];
    if (tooMany > 0) {
      const m = `${tooMany} sample(s) with more than max_labels (${maxLabels}) labels refused (e.g. ${example})`;
      this.events.rejected('too_many_labels', tooMany, m, { metric: example });
      messages.push(m);
    }
    if (tooLong > 0) {
      const m = `${tooLong} sample(s) with a label value over max_label_value_bytes (${maxLabelValueBytes}) refused (e.g. ${example})`;
      this.events.rejected('label_value_too_long', tooLong, m, { metric: example });
      messages.push(m);
    }
    const admitted = this.budget.admit(passed);
    if (admitted.rejected > 0) {
      const detail = admitted.metrics.slice(0, 3).map((n) => `${n} (label driving growth: ${this.budget.drivingLabel(n) || 'none'})`).join(', ');
      const m = `${admitted.rejected} sample(s) of new series over the series budget per metric refused: ${detail}`;
      this.events.rejected('series_limit', admitted.rejected, m, { metrics: admitted.metrics.slice(0, 10) });
      messages.push(m);
    }
    this.sender.enqueue(admitted.kept);
    return { rejected: tooMany + tooLong + admitted.rejected, message: messages.join('; ') };
  }
}
