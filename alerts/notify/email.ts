/**
 * E-mail over SMTP with a minimal client (EHLO, STARTTLS, AUTH PLAIN, MAIL, RCPT, DATA, QUIT):
 * enough for a relay, no dependency. SMTP 4xx replies and connection failures are retryable,
 * 5xx are not.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Alert } from '../model.js';
import type { Notifier, NotifyContext, NotifyResult } from './stages.js';
import { defaultText, defaultTitle } from './template.js';
import { buildMessage } from './webhook.js';

export interface EmailOptions {
  to: string;
  from: string;
  smarthost: string;
  hello: string;
  username?: string | undefined;
  password?: string | undefined;
  requireTls: boolean;
  timeoutMs: number;
  externalURL: string;
}

class SmtpError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/** Reads SMTP replies (possibly multi-line: `250-...` then `250 ...`) from a socket. */
class ReplyReader {
  private buf = '';
  private lines: string[] = [];
  private waiter: (() => void) | undefined;
  private error: Error | undefined;

  constructor(private socket: Socket) {
    this.attach(socket);
  }

  attach(socket: Socket): void {
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.buf += d;
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        this.lines.push(this.buf.slice(0, i).replace(/\r$/, ''));
        this.buf = this.buf.slice(i + 1);
      }
      this.waiter?.();
    });
    socket.on('error', (e) => {
      this.error = e;
      this.waiter?.();
    });
    socket.on('close', () => {
      this.error ??= new Error('connection closed by the server');
      this.waiter?.();
    });
  }

  async reply(): Promise<{ code: number; text: string[] }> {
    const text: string[] = [];
    for (;;) {
      while (this.lines.length === 0) {
        if (this.error) throw this.error;
        await new Promise<void>((r) => (this.waiter = r));
        this.waiter = undefined;
      }
      const line = this.lines.shift()!;
      const m = /^(\d{3})([ -])(.*)$/.exec(line);
      if (!m) throw new SmtpError(0, `unreadable SMTP reply "${line.slice(0, 80)}"`);
      text.push(m[3]!);
      if (m[2] === ' ') return { code: Number(m[1]), text };
    }
  }
}

function hostPort(smarthost: string): { host: string; port: number } {
  const i = smarthost.lastIndexOf(':');
  return { host: smarthost.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(smarthost.slice(i + 1)) };
}

function encodeHeader(v: string): string {
  // eslint-disable-next-line no-control-regex
  return /^[\x20-\x7e]*$/.test(v) ? v : `=?UTF-8?B?${Buffer.from(v, 'utf8').toString('base64')}?=`;
}

export function buildMime(opts: { from: string; to: string; subject: string; text: string; date: Date; messageId: string }): string {
  const body = Buffer.from(opts.text, 'utf8')
    .toString('base64')
    .replace(/.{76}/g, '$&\r\n');
  return [
    `From: ${opts.from}`,
    `To: ${opts.to}`,
    `Subject: ${encodeHeader(opts.subject)}`,
    `Date: ${opts.date.toUTCString()}`,
    `Message-Id: <${opts.messageId}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=UTF-8',
    'Content-Transfer-Encoding: base64',
    '',
    body,
  ].join('\r\n');
}

export async function sendMail(opts: EmailOptions, mime: string, signal: AbortSignal): Promise<void> {
  const { host, port } = hostPort(opts.smarthost);
  let socket: Socket = netConnect({ host, port });
  const timer = setTimeout(() => socket.destroy(new Error(`no SMTP exchange within ${opts.timeoutMs} ms`)), opts.timeoutMs);
  const onAbort = () => socket.destroy(new Error('aborted'));
  signal.addEventListener('abort', onAbort, { once: true });
  const reader = new ReplyReader(socket);
  const expect = async (ok: number[], what: string) => {
    const r = await reader.reply();
    if (!ok.includes(r.code)) throw new SmtpError(r.code, `${what}: ${r.code} ${r.text.join(' ')}`);
    return r;
  };
  const send = (line: string) => socket.write(`${line}\r\n`);
  try {
    await expect([220], 'greeting');
    send(`EHLO ${opts.hello}`);
    let ehlo = await expect([250], 'EHLO');
    if (ehlo.text.some((t) => /^STARTTLS\b/i.test(t))) {
      send('STARTTLS');
      await expect([220], 'STARTTLS');
      socket.removeAllListeners('data');
      socket = tlsConnect({ socket, servername: host });
      reader.attach(socket);
      send(`EHLO ${opts.hello}`);
      ehlo = await expect([250], 'EHLO after STARTTLS');
    } else if (opts.requireTls) {
      throw new SmtpError(530, `${opts.smarthost} does not offer STARTTLS and require_tls is set`);
    }
    if (opts.username !== undefined) {
      const token = Buffer.from(`\u0000${opts.username}\u0000${opts.password ?? ''}`, 'utf8').toString('base64');
      send(`AUTH PLAIN ${token}`);
      await expect([235], 'AUTH');
    }
    send(`MAIL FROM:<${opts.from}>`);
    await expect([250], 'MAIL FROM');
    for (const rcpt of opts.to.split(',').map((s) => s.trim()).filter(Boolean)) {
      send(`RCPT TO:<${rcpt}>`);
      await expect([250, 251], `RCPT TO ${rcpt}`);
    }
    send('DATA');
    await expect([354], 'DATA');
    // Dot-stuffing: a line starting with '.' would otherwise end the message early.
    socket.write(`${mime.replace(/\r\n\./g, '\r\n..')}\r\n.\r\n`);
    await expect([250], 'message');
    send('QUIT');
    // The message is already accepted; a server that hangs up without 221 is no failure.
    await reader.reply().catch(() => undefined);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
    socket.end();
  }
}

export class EmailNotifier implements Notifier {
  constructor(private readonly opts: EmailOptions) {}

  async notify(alerts: readonly Alert[], ctx: NotifyContext): Promise<NotifyResult> {
    const m = buildMessage(alerts, ctx, this.opts.externalURL);
    const mime = buildMime({
      from: this.opts.from,
      to: this.opts.to,
      subject: defaultTitle(m),
      text: `${defaultText(m)}\n\n${this.opts.externalURL}\n`,
      date: new Date(ctx.nowMs),
      messageId: `${ctx.nowMs}.${Math.abs(hash(ctx.groupKey))}@pharos`,
    });
    try {
      await sendMail(this.opts, mime, ctx.signal);
      return { ok: true };
    } catch (err) {
      const e = err as Error;
      const where = `SMTP ${this.opts.smarthost}`;
      if (e instanceof SmtpError) {
        const retryable = e.code >= 400 && e.code < 500;
        return { ok: false, retryable, reason: retryable ? 'server_error' : 'client_error', error: `${where}: ${e.message}` };
      }
      return { ok: false, retryable: !ctx.signal.aborted, reason: /within/.test(e.message) ? 'timeout' : 'network', error: `${where}: ${(e as NodeJS.ErrnoException).code ?? e.message}` };
    }
  }
}

function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}
