/**
 * The explorer's range: "Live" (the tail), the usual presets, or a custom from/to. The values are
 * the server's time expressions, kept in the URL by the page.
 */
import { useEffect, useState } from 'react';
import { Button } from '../../../ui/Button.js';
import layout from '../../../ui/PageLayout.module.css';
import { localInputToMs, msToLocalInput, presetShortName, TIME_PRESETS } from '../explorer/time-range.js';

interface Props {
  from: string;
  to: string;
  onChange: (from: string, to: string) => void;
}

export function TimePicker({ from, to, onChange }: Props) {
  const [customOpen, setCustomOpen] = useState(false);
  const isPreset = !to && TIME_PRESETS.some((p) => p.from === from);
  const custom = Boolean(from) && !isPreset;
  const [customFrom, setCustomFrom] = useState(msToLocalInput(from));
  const [customTo, setCustomTo] = useState(msToLocalInput(to));
  useEffect(() => {
    setCustomFrom(msToLocalInput(from));
    setCustomTo(msToLocalInput(to));
  }, [from, to]);
  const customError = customOpen && customFrom && customTo && Number(localInputToMs(customFrom)) >= Number(localInputToMs(customTo)) ? '"From" must be before "to"' : null;

  return (
    <span className={layout.field} role="group" aria-label="Time range">
      <span className={layout.tabs}>
        <button type="button" className={layout.tab} aria-pressed={!from} onClick={() => onChange('', '')} title="Follow new lines as they arrive">
          Live
        </button>
        {TIME_PRESETS.map((p) => (
          <button key={p.from} type="button" className={layout.tab} aria-pressed={isPreset && p.from === from} onClick={() => onChange(p.from, '')} title={p.label}>
            {presetShortName(p.from)}
          </button>
        ))}
        <button type="button" className={layout.tab} aria-pressed={custom || customOpen} aria-expanded={customOpen} onClick={() => setCustomOpen((o) => !o)} title="Pick a from and to time">
          Custom
        </button>
      </span>
      {customOpen && (
        <form
          className={layout.field}
          onSubmit={(e) => {
            e.preventDefault();
            if (customError) return;
            const f = localInputToMs(customFrom);
            if (!f) return;
            onChange(f, localInputToMs(customTo));
            setCustomOpen(false);
          }}
        >
          <label className={layout.field}>
            From
            <input className={layout.input} type="datetime-local" value={customFrom} onChange={(e) => setCustomFrom(e.target.value)} required />
          </label>
          <label className={layout.field}>
            To
            <input className={layout.input} type="datetime-local" value={customTo} onChange={(e) => setCustomTo(e.target.value)} title="Empty: now" />
          </label>
          <Button type="submit" disabled={Boolean(customError)}>
            Apply
          </Button>
          {customError && <span role="alert">{customError}</span>}
        </form>
      )}
    </span>
  );
}
