/**
 * The alert stream: every state change of an alert (pending, firing, resolved) as the alerting
 * component publishes it on the `pharos.alerts` topic, passed to every viewer as it comes.
 */
import { ENVIRONMENT_LABEL, environmentInScope, serviceInScope, SERVICE_LABEL, type LabelScope } from '../../../core/http/scope.js';

export interface AlertViewer {
  deliver(event: unknown): void;
  /** What the viewer's token may see: alerts whose labels name a service and environment in it. */
  scope?: LabelScope | undefined;
}

export class AlertHub {
  private readonly viewers = new Set<AlertViewer>();

  get upstreamCount(): number {
    return this.viewers.size > 0 ? 1 : 0;
  }

  publish(event: unknown): void {
    const labels = ((event as { labels?: Record<string, string> } | null)?.labels ?? {}) as Record<string, string>;
    for (const v of this.viewers) {
      if (v.scope && !(serviceInScope(v.scope, labels[SERVICE_LABEL]) && environmentInScope(v.scope, labels[ENVIRONMENT_LABEL]))) continue;
      v.deliver(event);
    }
  }

  subscribe(viewer: AlertViewer): { stop(): void } {
    this.viewers.add(viewer);
    return { stop: () => void this.viewers.delete(viewer) };
  }
}
