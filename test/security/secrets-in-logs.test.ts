/**
 * Secrets planted in the config of a real `pharos` never reach its stdout or stderr: through
 * startup, authenticated traffic, receivers that fail (webhook, Slack, PagerDuty, SMTP), a
 * shutdown; a config error; and a SASL login the broker refuses.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { freePort } from '../../core/kafka/local-broker.js';
import { testBrokers } from '../harness/kafka-helpers.js';
import { spawnPharos, type PharosProcess } from '../harness/pharos-process.js';
import { waitFor } from '../harness/wait.js';

/** Distinctive strings: any occurrence in the output is a leak, whatever surrounds it. */
const SECRETS = {
  saslPassword: 'saslPw-Z9q2LkX7vB3nM',
  saslFilePassword: 'saslFilePw-Qm4Rt8Ws2Ye6',
  clickhousePassword: 'chPw-H5jK9pL2mN7bV',
  webhookKey: 'whKey-T3yU8iO1pA6sD',
  slackKey: 'slackKey-F4gH7jK2lZ9xC',
  pagerdutyKey: 'pdKey-V1bN6mQ3wE8rT',
  smtpPassword: 'smtpPw-Y5uI2oP7aS4dF',
  adminToken: 'adminTok-G8hJ3kL6zX1cV9bN',
  viewerToken: 'viewerTok-M2nB5vC8xZ4lK7jH',
} as const;

function leaked(output: string): string[] {
  return Object.entries(SECRETS)
    .filter(([, v]) => output.includes(v))
    .map(([k]) => k);
}

const running: PharosProcess[] = [];
const servers: Server[] = [];
afterAll(async () => {
  for (const p of running) await p.stop();
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

/** A receiver that is up but failing: 500 to everything, counting what it got. */
async function failingReceiver(): Promise<{ port: number; hits: () => number }> {
  let hits = 0;
  const server = createServer((req, res) => {
    req.resume();
    hits++;
    res.writeHead(500, { 'content-type': 'text/plain' }).end('upstream exploded');
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, hits: () => hits };
}

function writeConfig(dir: string, lines: string[]): string {
  const file = join(dir, 'pharos.yaml');
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

const tokens = [
  'auth:',
  '  tokens:',
  `    - { name: root, role: admin, token: ${SECRETS.adminToken} }`,
  `    - { name: vic, role: viewer, token: ${SECRETS.viewerToken} }`,
];

describe('pharos all with secrets in its config', () => {
  test('startup, traffic, failing receivers and shutdown print no secret', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-secrets-'));
    const failing = await failingReceiver();
    const closedPort = await freePort();
    const port = await freePort();
    const rules = join(dir, 'rules.yaml');
    writeFileSync(rules, 'groups:\n  - name: sec\n    interval: 1s\n    rules:\n      - alert: SecretsTestFiring\n        expr: vector(1) > 0\n');
    const config = writeConfig(dir, [
      `data_dir: ${dir}`,
      'kafka:',
      '  local: { enabled: never }',
      `  sasl: { mechanism: scram-sha-512, username: pharos, password: ${SECRETS.saslPassword} }`,
      `clickhouse: { username: pharos, password: ${SECRETS.clickhousePassword} }`,
      `dashboard: { listen: "127.0.0.1:${port}" }`,
      `collector: { listen: "127.0.0.1:${await freePort()}", self_logs: false, host_metrics: { enabled: false } }`,
      ...tokens,
      'alerts:',
      `  rule_files: [${rules}]`,
      '  default_rules: false',
      '  notify:',
      "    route: { receiver: everything, group_wait: 0s, group_interval: 1s, repeat_interval: 1h }",
      "    delivery: { deadline: 1s, initial_backoff: 100ms, max_backoff: 200ms }",
      '    receivers:',
      '      - name: everything',
      `        webhook_configs: [{ url: "http://127.0.0.1:${failing.port}/hooks/alerts?api_key=${SECRETS.webhookKey}" }]`,
      `        slack_configs: [{ api_url: "http://127.0.0.1:${failing.port}/services/${SECRETS.slackKey}" }]`,
      `        pagerduty_configs: [{ routing_key: ${SECRETS.pagerdutyKey}, url: "http://127.0.0.1:${failing.port}/v2/enqueue" }]`,
      `        email_configs: [{ to: a@example.com, from: b@example.com, smarthost: "127.0.0.1:${closedPort}", auth_username: pharos, auth_password: ${SECRETS.smtpPassword} }]`,
    ]);
    const pharos = spawnPharos(['all', '--config', config], { PHAROS_LOG__LEVEL: 'debug' });
    running.push(pharos);
    await pharos.waitForOutput(/pharos is running/, 90_000);
    const base = `http://127.0.0.1:${port}`;

    // Authenticated and refused traffic, a login: each could echo a credential.
    expect((await fetch(`${base}/api/whoami`, { headers: { authorization: `Bearer ${SECRETS.adminToken}` } })).status).toBe(200);
    expect((await fetch(`${base}/api/whoami`, { headers: { authorization: `Bearer ${SECRETS.adminToken}x` } })).status).toBe(401);
    expect((await fetch(`${base}/api/v1/query?query=up&access_token=${SECRETS.viewerToken}`)).status).toBe(401);
    const login = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: SECRETS.viewerToken }) });
    expect(login.status).toBe(200);
    expect(JSON.stringify(await login.json())).not.toContain(SECRETS.viewerToken);

    // Every receiver fails at least once, and the failures are logged.
    await waitFor('the failing receiver to be called', () => failing.hits() >= 3, 60_000);
    await pharos.waitForOutput(/notification failed/, 60_000);
    await waitFor('failures of webhook, slack, pagerduty and email in the log', () => ['webhook', 'slack', 'pagerduty', 'email'].every((i) => new RegExp(`"integration":"[^"]*${i}\\[`).test(pharos.output())), 60_000);

    expect(await pharos.stop()).toBe(0);
    const output = pharos.output();
    expect(output).toMatch(/"msg":"stopped"/);
    expect(leaked(output)).toEqual([]);
  }, 180_000);

  test('a config error names the key and prints no secret', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-secrets-'));
    const config = writeConfig(dir, [
      `data_dir: ${dir}`,
      'kafka:',
      `  sasl: { mechanism: gssapi, username: pharos, password: ${SECRETS.saslPassword} }`,
      `clickhouse: { password: ${SECRETS.clickhousePassword}, passwrd: oops }`,
      ...tokens,
      `    - { name: short, role: viewer, token: ${SECRETS.pagerdutyKey.slice(0, 10)} }`,
      'alerts:',
      '  notify:',
      '    route: { receiver: r }',
      '    receivers:',
      `      - { name: r, webhook_configs: [{ url: "not a url ${SECRETS.webhookKey}" }], pagerduty_configs: [{ routing_key: ${SECRETS.pagerdutyKey}, routing_key_file: /x }] }`,
    ]);
    const pharos = spawnPharos(['all', '--config', config], {});
    running.push(pharos);
    const code = await new Promise<number | null>((r) => pharos.proc.once('exit', r));
    expect(code).toBe(1);
    const output = pharos.output();
    expect(output).toMatch(/invalid configuration/);
    expect(output).toMatch(/kafka\.sasl\.mechanism/);
    expect(output).toMatch(/clickhouse\.passwrd: unknown key/);
    expect(output).toMatch(/auth\.tokens\.2\.token/);
    expect(leaked(output)).toEqual([]);
  }, 60_000);

  test('a SASL login the broker refuses is reported without the password (also from password_file)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-secrets-'));
    const passwordFile = join(dir, 'sasl-password');
    writeFileSync(passwordFile, `${SECRETS.saslFilePassword}\n`);
    const config = writeConfig(dir, [
      `data_dir: ${dir}`,
      'kafka:',
      `  brokers: [${testBrokers().join(', ')}]`,
      `  sasl: { mechanism: plain, username: pharos, password_file: ${passwordFile} }`,
      `dashboard: { listen: "127.0.0.1:${await freePort()}" }`,
      `collector: { listen: "127.0.0.1:${await freePort()}", self_logs: false, host_metrics: { enabled: false } }`,
      ...tokens,
    ]);
    const pharos = spawnPharos(['all', '--config', config], { PHAROS_LOG__LEVEL: 'debug' });
    running.push(pharos);
    // The test broker speaks PLAINTEXT without SASL: the handshake is refused.
    const [saslLine] = await pharos.waitForOutput(/[^\n]*SASL[^\n]*/i, 60_000);
    // kafkajs's own report of the refused handshake, routed through pino.
    expect(saslLine).toContain('"component_id":"kafkajs"');
    await pharos.stop();
    expect(leaked(pharos.output())).toEqual([]);
  }, 90_000);
});
