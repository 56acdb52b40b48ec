/**
 * Syslog listeners: UDP (one message per datagram) and TCP with both framings of RFC 6587 —
 * octet counting (`LEN SP MSG`, what rsyslog and syslog-ng send with RFC 5424) and
 * newline-delimited (the traditional one), chosen per message by its first byte as rsyslog does.
 * Messages become records (syslog-parse.ts) and go through the collector's log path in small
 * batches; while that path is full, TCP connections are paused (TCP pushes back on the sender)
 * and UDP datagrams, which cannot wait, are refused and counted.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import type { LogRecord } from '../../core/model/records.js';
import { parseListen } from '../../core/http/service-server.js';
import { PharosError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { RejectEvents } from '../receivers/events.js';
import type { LogIntake } from '../receivers/log-intake.js';
import { parseSyslog } from './syslog-parse.js';

export interface SyslogOptions {
  udp?: string | undefined;
  tcp?: string | undefined;
  service: string;
  maxMessageBytes: number;
  intakeUdp: LogIntake;
  intakeTcp: LogIntake;
  events: RejectEvents;
  log: Logger;
  /** How long a batch waits for more messages before it is handed on. */
  lingerMs?: number;
}

export interface RunningSyslog {
  udpAddress?: string;
  tcpAddress?: string;
  stop(): Promise<void>;
}

const BATCH_RECORDS = 500;
const SUBMIT_TIMEOUT_MS = 30_000;

/** Collects records for a short time and hands them on in order, one batch at a time. */
class Batcher {
  private records: LogRecord[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private waiting = 0;

  constructor(
    private readonly intake: LogIntake,
    private readonly lingerMs: number,
    private readonly onFailed: (count: number, err: unknown) => void,
  ) {}

  /** Batches queued and not yet accepted: the TCP side pauses its sockets past a few. */
  get backlog(): number {
    return this.waiting;
  }

  add(r: LogRecord, bytes: number): void {
    this.records.push(r);
    this.bytes += bytes;
    if (this.records.length >= BATCH_RECORDS) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.lingerMs);
  }

  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.records.length === 0) return this.inFlight;
    const records = this.records;
    const bytes = this.bytes;
    this.records = [];
    this.bytes = 0;
    this.waiting++;
    this.inFlight = this.inFlight.then(async () => {
      try {
        await this.intake.push(records, bytes, AbortSignal.timeout(SUBMIT_TIMEOUT_MS));
      } catch (err) {
        this.onFailed(records.length, err);
      } finally {
        this.waiting--;
      }
    });
    return this.inFlight;
  }
}

export async function startSyslog(opts: SyslogOptions): Promise<RunningSyslog> {
  const linger = opts.lingerMs ?? 50;
  const failed = (count: number, err: unknown) =>
    opts.events.rejected('backpressure', count, `syslog: ${count} message(s) not accepted by the log path within ${SUBMIT_TIMEOUT_MS} ms: dropped`, { err: (err as Error).message });
  const udpBatch = new Batcher(opts.intakeUdp, linger, failed);
  const tcpBatch = new Batcher(opts.intakeTcp, linger, failed);
  const running: RunningSyslog = { stop: async () => {} };
  let udp: UdpSocket | undefined;
  let tcp: Server | undefined;
  const sockets = new Set<Socket>();

  const take = (batch: Batcher, text: string, peer: string) => {
    const rec = parseSyslog(text, { service: opts.service, peer, nowMs: Date.now() });
    if (rec.attributes['log.parse_error'] === true) opts.log.debug({ peer }, 'syslog message did not parse: shipped whole, tagged log.parse_error');
    batch.add(rec, text.length);
  };

  if (opts.udp) {
    const { host, port } = parseListen(opts.udp);
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    udp = socket;
    socket.on('message', (msg, rinfo) => {
      if (msg.length > opts.maxMessageBytes) {
        opts.events.rejected('line_too_long', 1, `syslog/udp: datagram of ${msg.length} bytes from ${rinfo.address} exceeds max_line_bytes (${opts.maxMessageBytes})`);
        return;
      }
      if (udpBatch.backlog > 8) {
        opts.events.rejected('backpressure', 1, 'syslog/udp: log path full: datagram refused (UDP cannot wait)');
        return;
      }
      take(udpBatch, msg.toString('utf8'), rinfo.address);
    });
    socket.on('error', (err) => opts.log.error({ err: err.message }, 'syslog udp socket error'));
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(listenError('udp', opts.udp!, err));
      socket.once('error', onError);
      socket.bind(port, host || undefined, () => {
        socket.off('error', onError);
        resolve();
      });
    });
    const a = socket.address();
    running.udpAddress = `${a.address}:${a.port}`;
  }

  if (opts.tcp) {
    const { host, port } = parseListen(opts.tcp);
    tcp = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      const peer = socket.remoteAddress ?? '';
      const framer = new TcpFramer(opts.maxMessageBytes, (text) => take(tcpBatch, text, peer), (why) => {
        opts.events.rejected('line_too_long', 1, `syslog/tcp: ${why} from ${peer}: connection closed`);
        socket.destroy();
      });
      socket.on('data', (chunk: Buffer) => {
        framer.push(chunk);
        if (tcpBatch.backlog > 4) {
          // TCP pushes back: stop reading until the log path took the queued batches.
          socket.pause();
          void tcpBatch.flush().then(() => socket.resume());
        }
      });
      socket.on('end', () => framer.end());
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => {
        udp?.close();
        reject(listenError('tcp', opts.tcp!, err));
      };
      tcp!.once('error', onError);
      tcp!.listen({ port, host: host || undefined }, () => {
        tcp!.off('error', onError);
        resolve();
      });
    });
    const a = tcp.address() as { address: string; port: number };
    running.tcpAddress = `${a.address}:${a.port}`;
  }

  opts.log.info({ udp: running.udpAddress, tcp: running.tcpAddress }, 'syslog listening');
  running.stop = async () => {
    udp?.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => (tcp ? tcp.close(() => resolve()) : resolve()));
    await Promise.all([udpBatch.flush(), tcpBatch.flush()]);
  };
  return running;
}

function listenError(proto: string, address: string, err: Error): PharosError {
  const code = (err as NodeJS.ErrnoException).code;
  const why = code === 'EADDRINUSE' ? 'address already in use' : code === 'EACCES' ? 'permission denied (ports below 1024 need privileges: use e.g. 5514)' : err.message;
  return new PharosError('invalid_config', `collector.receivers.syslog.${proto}: cannot listen on ${address}: ${why}`, false, { cause: err });
}

/**
 * RFC 6587 framing: octet counting when a message starts with a digit, else up to LF.
 * Bytes wait in one buffer grown by doubling, and the search for a delimiter resumes where the
 * last one stopped: a sender trickling a long message a byte per segment costs linear time
 * (concatenating and rescanning on every segment was quadratic).
 */
export class TcpFramer {
  private buf: Buffer = Buffer.alloc(0);
  private start = 0;
  private stop = 0;
  /** Where the search for the current message's delimiter goes on from. */
  private searched = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly onMessage: (text: string) => void,
    private readonly onTooLong: (why: string) => void,
  ) {}

  private append(chunk: Buffer): void {
    if (this.stop + chunk.length > this.buf.length) {
      const live = this.stop - this.start;
      const next = Buffer.allocUnsafe(Math.max(4096, 2 * (live + chunk.length)));
      this.buf.copy(next, 0, this.start, this.stop);
      this.searched -= this.start;
      this.start = 0;
      this.stop = live;
      this.buf = next;
    }
    chunk.copy(this.buf, this.stop);
    this.stop += chunk.length;
  }

  push(chunk: Buffer): void {
    this.append(chunk);
    const view = this.buf.subarray(0, this.stop);
    for (;;) {
      const pending = this.stop - this.start;
      if (pending === 0) {
        this.start = this.stop = this.searched = 0;
        return;
      }
      const from = Math.max(this.searched, this.start);
      const first = view[this.start]!;
      if (first >= 0x30 && first <= 0x39) {
        const sp = view.indexOf(0x20, from);
        if (sp < 0) {
          this.searched = this.stop;
          if (pending > 10) return this.onTooLong('octet count longer than 10 digits');
          return;
        }
        this.searched = sp;
        const len = Number(view.toString('latin1', this.start, sp));
        if (!Number.isInteger(len) || len > this.maxBytes) return this.onTooLong(`framed message of ${view.toString('latin1', this.start, Math.min(sp, this.start + 12))} bytes exceeds max_line_bytes (${this.maxBytes})`);
        if (this.stop < sp + 1 + len) return;
        this.onMessage(view.toString('utf8', sp + 1, sp + 1 + len));
        this.start = this.searched = sp + 1 + len;
      } else {
        const lf = view.indexOf(0x0a, from);
        if (lf < 0) {
          this.searched = this.stop;
          if (pending > this.maxBytes) return this.onTooLong(`line longer than max_line_bytes (${this.maxBytes})`);
          return;
        }
        if (lf > this.start) this.onMessage(view.toString('utf8', this.start, lf));
        this.start = this.searched = lf + 1;
      }
    }
  }

  /** A last line without its LF still counts when the sender closes. */
  end(): void {
    const first = this.buf[this.start];
    if (this.stop > this.start && !(first! >= 0x30 && first! <= 0x39)) this.onMessage(this.buf.toString('utf8', this.start, this.stop));
    this.buf = Buffer.alloc(0);
    this.start = this.stop = this.searched = 0;
  }
}
