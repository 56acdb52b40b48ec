import { describe, expect, test } from 'vitest';
import type { LogRow } from '../api.js';
import { addHistory, addLive, emptyTail, lineKey, marker, MAX_ITEMS, pause, pendingRows, resume, type TailItem } from './tail-buffer.js';

function row(body: string, t = '1'): LogRow {
  return { timeUnixNano: t, observedTimeUnixNano: t, severityText: '', severityNumber: 9, serviceName: 'api', hostName: 'h', body, traceId: '', spanId: '', resourceAttributes: {}, logAttributes: {} };
}
const live = (...bodies: string[]): TailItem[] => bodies.map((b) => ({ kind: 'row', key: lineKey(row(b)), row: row(b) }));
const bodies = (items: readonly TailItem[]) => items.map((i) => (i.kind === 'row' ? i.row.body : `[${i.text}]`));

describe('tail buffer', () => {
  test('shows live rows newest first, history below, each line once', () => {
    let s = addLive(emptyTail(), live('b', 'c'));
    s = addHistory(s, [row('c'), row('b'), row('a')]);
    expect(bodies(s.items)).toEqual(['c', 'b', 'a']);
    s = addLive(s, live('c', 'd'));
    expect(bodies(s.items)).toEqual(['d', 'c', 'b', 'a']);
  });

  test('pausing keeps new rows aside and counts them; resuming shows them in order', () => {
    let s = pause(addLive(emptyTail(), live('a')));
    s = addLive(s, [...live('b'), marker('dropped', '3 lines dropped'), ...live('c')]);
    expect(bodies(s.items)).toEqual(['a']);
    expect(pendingRows(s)).toBe(2);
    s = resume(s);
    expect(bodies(s.items)).toEqual(['c', '[3 lines dropped]', 'b', 'a']);
    expect(pendingRows(s)).toBe(0);
  });

  test('holds at most MAX_ITEMS rows', () => {
    const many = Array.from({ length: MAX_ITEMS + 10 }, (_, i) => `r${i}`);
    const s = addLive(emptyTail(), live(...many));
    expect(s.items).toHaveLength(MAX_ITEMS);
    expect(bodies(s.items)[0]).toBe(`r${MAX_ITEMS + 9}`);
    expect(s.keys.size).toBe(MAX_ITEMS);
  });
});
