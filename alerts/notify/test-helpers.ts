/** Test fakes behind the narrow interfaces (Clock) and real loopback receivers. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Alert, Clock } from '../model.js';

export class FakeClock implements Clock {
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private seq = 0;
  constructor(public ms: number) {}
  now(): number {
    return this.ms;
  }
  setTimer(ms: number, fn: () => void): { dispose(): void } {
    const id = ++this.seq;
    this.timers.push({ at: this.ms + Math.max(0, ms), fn, id });
    return { dispose: () => (this.timers = this.timers.filter((t) => t.id !== id)) };
  }
  /** Fires due timers in time order, including ones they add. */
  advance(ms: number): void {
    const end = this.ms + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.ms = Math.max(this.ms, due.at);
      due.fn();
    }
    this.ms = end;
  }
  pending(): number {
    return this.timers.length;
  }
}

/** Awaits a condition, stepping the event loop (real I/O needs it), failing after a real-time deadline. */
export async function until(cond: () => boolean, what: string, deadlineMs = 5000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

/** Lets in-flight promises and I/O settle; used to assert that nothing more happens. */
export async function settle(rounds = 50): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

export interface Receiver {
  url: string;
  bodies: unknown[];
  /** Sets the reply of each next request; default 200. */
  respond: (req: IncomingMessage, res: ServerResponse, n: number) => void;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const r: Receiver = {
    url: '',
    bodies: [],
    respond: (_req, res) => {
      res.writeHead(200).end('ok');
    },
    close: () => new Promise((res) => server.close(() => res())),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      r.bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      r.respond(req, res, r.bodies.length);
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const close = r.close;
  r.close = () => {
    server.closeAllConnections();
    return close();
  };
  return r;
}

export function alert(labels: Record<string, string>, startsAt: number, endsAt: number, annotations: Record<string, string> = {}): Alert {
  const fp = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
  return { labels, annotations, startsAt, endsAt, generatorURL: 'http://pharos/graph', fingerprint: fp };
}
