import { describe, expect, test } from 'vitest';
import type { BusConsumer } from '../../core/bus/bus.js';
import { silentLogger } from '../../core/log.js';
import { startGroupMembers } from './group-members.js';

/** A member whose join completes (or fails) when the test says so. */
function member() {
  let join!: () => void;
  let fail!: (err: Error) => void;
  let stopped = 0;
  const consumer: BusConsumer = { stop: async () => void stopped++ };
  const joined = new Promise<BusConsumer>((resolve, reject) => {
    join = () => resolve(consumer);
    fail = reject;
  });
  return { start: () => joined, join, fail, stopped: () => stopped };
}

describe('startGroupMembers', () => {
  test('is ready when the first member runs; stop waits for the others to join and stops every one once', async () => {
    const members = [member(), member(), member()];
    let n = 0;
    let ready = false;
    const starting = startGroupMembers(3, () => members[n++]!.start(), silentLogger()).then((g) => {
      ready = true;
      return g;
    });
    members[1]!.join();
    const group = await starting;
    expect(ready).toBe(true);
    expect(members.map((m) => m.stopped())).toEqual([0, 0, 0]);

    const stopping = group.stop();
    members[0]!.join();
    members[2]!.join();
    await stopping;
    expect(members.map((m) => m.stopped())).toEqual([1, 1, 1]);
  });

  test('fails with the first reason when no member can join; a member failing later leaves the others running', async () => {
    const failing = [member(), member()];
    let n = 0;
    const starting = startGroupMembers(2, () => failing[n++]!.start(), silentLogger());
    failing[0]!.fail(new Error('first'));
    failing[1]!.fail(new Error('second'));
    await expect(starting).rejects.toThrow('first');

    const mixed = [member(), member()];
    let m = 0;
    const started = startGroupMembers(2, () => mixed[m++]!.start(), silentLogger());
    mixed[0]!.join();
    const group = await started;
    mixed[1]!.fail(new Error('join refused'));
    await group.stop();
    expect(mixed.map((x) => x.stopped())).toEqual([1, 0]);
  });
});
