import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './log.js';

function logged(fields: Record<string, unknown>): string {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  createLogger({ destination: out }).info(fields, 'm');
  return text;
}

describe('log redaction', () => {
  it('hides secrets at the top level, one level down, and in a whole config section', () => {
    const text = logged({
      password: 'S1',
      sasl: { password: 'S2' },
      receiver: { routing_key: 'S3', api_url: 'S4', auth_password: 'S5' },
      req: { headers: { authorization: 'Bearer S6', cookie: 'pharos_session=S7', 'x-csrf-token': 'S8' } },
      config: { kafka: { sasl: { password: 'S9' } }, clickhouse: { password: 'S10' }, auth: { tokens: [{ token: 'S11' }] } },
      kafka: { sasl: { mechanism: 'plain', password: 'S12' } },
    });
    expect(text.match(/S\d+/g)).toBeNull();
    expect(text).toContain('[redacted]');
  });

  it('leaves ordinary fields alone', () => {
    expect(JSON.parse(logged({ receivers: ['team-a'], url_host: '127.0.0.1' }))).toMatchObject({ receivers: ['team-a'], url_host: '127.0.0.1' });
  });
});
