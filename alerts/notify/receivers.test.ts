import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/log.js';
import { EmailNotifier } from './email.js';
import { dedupKey, PagerdutyNotifier } from './pagerduty.js';
import { SlackNotifier } from './slack.js';
import type { NotifyContext } from './stages.js';
import { alert, startReceiver, type Receiver } from './test-helpers.js';
import { WebhookNotifier } from './webhook.js';

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const ctx: NotifyContext = {
  receiver: 'oncall',
  groupKey: '{}:{alertname="DiskFull"}',
  groupLabels: { alertname: 'DiskFull' },
  nowMs: T0 + 1000,
  repeatIntervalMs: 3600_000,
  signal: new AbortController().signal,
  log: silentLogger(),
};
const firing = alert({ alertname: 'DiskFull', host: 'db1' }, T0, T0 + 60_000, { summary: 'disk full on db1' });
const resolved = { ...firing, endsAt: T0 + 500 };

let rx: Receiver;
beforeEach(async () => {
  rx = await startReceiver();
});
afterEach(() => rx.close());

describe('PagerDuty Events v2', () => {
  it('triggers with the group key hash as dedup key, then resolves the same incident', async () => {
    rx.respond = (_q, res) => res.writeHead(202).end('{"status":"success"}');
    const pd = new PagerdutyNotifier({ url: rx.url, routingKey: 'R0UT1NGKEY', severity: 'critical', timeoutMs: 5000, externalURL: 'http://pharos:9093' });
    expect(await pd.notify([firing], ctx)).toEqual({ ok: true });
    expect(await pd.notify([resolved], ctx)).toEqual({ ok: true });
    const key = dedupKey(ctx.groupKey);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(rx.bodies[0]).toEqual({
      routing_key: 'R0UT1NGKEY',
      event_action: 'trigger',
      dedup_key: key,
      payload: {
        summary: '[FIRING:1] DiskFull',
        source: 'db1',
        severity: 'critical',
        custom_details: expect.objectContaining({ num_firing: 1, num_resolved: 0 }),
      },
      client: 'Pharos',
      client_url: 'http://pharos:9093',
    });
    expect(rx.bodies[1]).toEqual({ routing_key: 'R0UT1NGKEY', event_action: 'resolve', dedup_key: key });
  });

  it('classifies a 400 as not retryable and a 429 with Retry-After as retryable', async () => {
    const pd = new PagerdutyNotifier({ url: rx.url, routingKey: 'k', severity: 'error', timeoutMs: 5000, externalURL: '' });
    rx.respond = (_q, res) => res.writeHead(400).end('bad key');
    expect(await pd.notify([firing], ctx)).toMatchObject({ ok: false, retryable: false, reason: 'client_error' });
    rx.respond = (_q, res) => res.writeHead(429, { 'retry-after': '3' }).end();
    expect(await pd.notify([firing], ctx)).toMatchObject({ ok: false, retryable: true, reason: 'rate_limited', retryAfterMs: 3000 });
  });
});

describe('Slack incoming webhook', () => {
  it('posts channel and an attachment with the rendered title and text', async () => {
    const slack = new SlackNotifier({
      apiUrl: rx.url,
      channel: '#oncall',
      title: '{{ .Status }}: {{ .CommonLabels.alertname }} x{{ .Alerts.Firing | len }}',
      text: '{{ .CommonAnnotations.summary }}',
      timeoutMs: 5000,
      externalURL: 'http://pharos:9093',
    });
    expect(await slack.notify([firing], ctx)).toEqual({ ok: true });
    expect(rx.bodies[0]).toEqual({
      channel: '#oncall',
      attachments: [{ title: 'firing: DiskFull x1', title_link: 'http://pharos:9093', text: 'disk full on db1', fallback: 'firing: DiskFull x1', color: 'danger', mrkdwn_in: ['text', 'pretext'] }],
    });
  });

  it('never shows the secret path of the webhook URL in an error', async () => {
    rx.respond = (_q, res) => res.writeHead(500).end();
    const slack = new SlackNotifier({ apiUrl: `${rx.url}/T000/B000/SECRETSECRET`, timeoutMs: 5000, externalURL: '' });
    const r = await slack.notify([firing], ctx);
    expect(r).toMatchObject({ ok: false, retryable: true, reason: 'server_error' });
    expect(JSON.stringify(r)).not.toContain('SECRETSECRET');
  });
});

describe('webhook', () => {
  it('cuts alerts beyond max_alerts and counts them as truncated', async () => {
    const wh = new WebhookNotifier({ url: rx.url, maxAlerts: 1, timeoutMs: 5000, externalURL: 'x' });
    const other = alert({ alertname: 'DiskFull', host: 'db2' }, T0, T0 + 60_000);
    expect(await wh.notify([firing, other], ctx)).toEqual({ ok: true });
    expect(rx.bodies[0]).toMatchObject({ truncatedAlerts: 1, alerts: [expect.objectContaining({ fingerprint: firing.fingerprint })] });
  });

  it('reports a receiver that is down as a retryable network failure with the URL redacted', async () => {
    await rx.close();
    const wh = new WebhookNotifier({ url: rx.url.replace('/hook', '/hook?token=s3cr3t'), maxAlerts: 0, timeoutMs: 5000, externalURL: 'x' });
    const r = await wh.notify([firing], ctx);
    expect(r).toMatchObject({ ok: false, retryable: true, reason: 'network' });
    expect(JSON.stringify(r)).not.toContain('s3cr3t');
    rx = await startReceiver();
  });
});

/** A tiny SMTP server: enough of RFC 5321 to receive one message and record the dialogue. */
async function smtpServer(opts: { rejectRcpt?: string } = {}) {
  const got: { commands: string[]; data: string[] } = { commands: [], data: [] };
  const sockets = new Set<Socket>();
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.setEncoding('utf8');
    let buf = '';
    let inData = false;
    let data = '';
    sock.write('220 test ESMTP\r\n');
    sock.on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            got.data.push(data);
            sock.write('250 queued\r\n');
          } else data += `${line}\r\n`;
          continue;
        }
        got.commands.push(line);
        const cmd = line.split(' ')[0]!.toUpperCase();
        if (cmd === 'EHLO') sock.write('250-test\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n');
        else if (cmd === 'AUTH') sock.write('235 ok\r\n');
        else if (cmd === 'MAIL') sock.write('250 ok\r\n');
        else if (cmd === 'RCPT') sock.write(opts.rejectRcpt && line.includes(opts.rejectRcpt) ? '550 no such user\r\n' : '250 ok\r\n');
        else if (cmd === 'DATA') {
          inData = true;
          data = '';
          sock.write('354 go\r\n');
        } else if (cmd === 'QUIT') sock.end('221 bye\r\n');
        else sock.write('502 unknown\r\n');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    got,
    smarthost: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('SMTP e-mail', () => {
  it('delivers a message with AUTH PLAIN to a local SMTP server', async () => {
    const srv = await smtpServer();
    try {
      const mail = new EmailNotifier({ to: 'ops@example.com', from: 'pharos@example.com', smarthost: srv.smarthost, hello: 'pharos', username: 'u', password: 'p', requireTls: false, timeoutMs: 5000, externalURL: 'http://pharos:9093' });
      expect(await mail.notify([firing], ctx)).toEqual({ ok: true });
      expect(srv.got.commands).toEqual(['EHLO pharos', `AUTH PLAIN ${Buffer.from('\u0000u\u0000p').toString('base64')}`, 'MAIL FROM:<pharos@example.com>', 'RCPT TO:<ops@example.com>', 'DATA', 'QUIT']);
      const msg = srv.got.data[0]!;
      expect(msg).toContain('Subject: [FIRING:1] DiskFull\r\n');
      expect(msg).toContain('To: ops@example.com\r\n');
      const body = Buffer.from(msg.split('\r\n\r\n')[1]!.replace(/\r\n/g, ''), 'base64').toString('utf8');
      expect(body).toContain('disk full on db1');
    } finally {
      await srv.close();
    }
  });

  it('refuses to send in clear when require_tls is set and the server offers no STARTTLS', async () => {
    const srv = await smtpServer();
    try {
      const mail = new EmailNotifier({ to: 'ops@example.com', from: 'p@example.com', smarthost: srv.smarthost, hello: 'pharos', requireTls: true, timeoutMs: 5000, externalURL: '' });
      expect(await mail.notify([firing], ctx)).toMatchObject({ ok: false, retryable: false });
      expect(srv.got.commands).not.toContain('DATA');
    } finally {
      await srv.close();
    }
  });

  it('treats a 5xx reply as not retryable', async () => {
    const srv = await smtpServer({ rejectRcpt: 'nobody' });
    try {
      const mail = new EmailNotifier({ to: 'nobody@example.com', from: 'p@example.com', smarthost: srv.smarthost, hello: 'pharos', requireTls: false, timeoutMs: 5000, externalURL: '' });
      expect(await mail.notify([firing], ctx)).toMatchObject({ ok: false, retryable: false, reason: 'client_error', error: expect.stringContaining('550') });
    } finally {
      await srv.close();
    }
  });
});
