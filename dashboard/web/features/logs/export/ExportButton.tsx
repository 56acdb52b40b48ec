import { useState } from 'react';
import { useWhoami } from '../../../app/useWhoami.js';
import { Button } from '../../../ui/Button.js';
import { hasRole } from '../../../ui/roles.js';
import { downloadExport, type ExportFormat, type ExportQuery } from './export-logs.js';

/** Export of what the page shows (its filter over its time range), NDJSON or CSV; analysts and above. */
export function ExportButtons({ query, rangeLabel, onError }: { query: ExportQuery; rangeLabel: string; onError: (message: string | null) => void }) {
  const allowed = hasRole(useWhoami()?.role, 'analyst');
  const [busy, setBusy] = useState<ExportFormat | null>(null);
  const run = (format: ExportFormat) => {
    setBusy(format);
    onError(null);
    downloadExport(query, format)
      .catch((err: Error) => onError(`The export failed: ${err.message}`))
      .finally(() => setBusy(null));
  };
  const why = allowed ? undefined : 'Exports need the analyst role';
  return (
    <span role="group" aria-label="Export">
      {(['ndjson', 'csv'] as const).map((f) => (
        <Button key={f} variant="ghost" onClick={() => run(f)} disabled={!allowed || busy !== null} title={why ?? `Download these lines (${rangeLabel.toLowerCase()}) as ${f.toUpperCase()}`} aria-busy={busy === f}>
          {busy === f ? 'Exporting…' : `Export ${f.toUpperCase()}`}
        </Button>
      ))}
    </span>
  );
}
