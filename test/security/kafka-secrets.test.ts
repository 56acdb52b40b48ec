/**
 * Kafka SASL and TLS settings: read from config or files, validated with errors that name the key
 * and never the secret.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigError, validateConfig } from '../../core/config/load.js';
import { saslOptions, tlsOptions } from '../../core/kafka/client.js';

const dir = mkdtempSync(join(tmpdir(), 'pharos-kafka-secrets-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

function configError(kafka: unknown): string {
  try {
    validateConfig({ kafka });
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('expected a config error');
}

describe('kafka.sasl', () => {
  test('PLAIN and SCRAM with an inline password or a password_file (trailing newline dropped)', () => {
    const inline = validateConfig({ kafka: { sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p-inline' } } }).kafka.sasl!;
    expect(saslOptions(inline)).toEqual({ mechanism: 'scram-sha-512', username: 'u', password: 'p-inline' });
    const fromFile = validateConfig({ kafka: { sasl: { mechanism: 'plain', username: 'u', password_file: file('pw', 'p-file\n') } } }).kafka.sasl!;
    expect(saslOptions(fromFile)).toEqual({ mechanism: 'plain', username: 'u', password: 'p-file' });
  });

  test('exactly one of password and password_file; an unknown mechanism names the key', () => {
    expect(configError({ sasl: { mechanism: 'plain', username: 'u', password: 'SECRET-1', password_file: '/x' } })).toMatch(/kafka\.sasl: set exactly one of password, password_file/);
    expect(configError({ sasl: { mechanism: 'plain', username: 'u' } })).toMatch(/kafka\.sasl: set exactly one/);
    const msg = configError({ sasl: { mechanism: 'gssapi', username: 'u', password: 'SECRET-2' } });
    expect(msg).toMatch(/kafka\.sasl\.mechanism/);
    expect(msg).not.toContain('SECRET-2');
  });

  test('an unreadable or empty password_file is an error naming the key and path, not the content', () => {
    const missing = validateConfig({ kafka: { sasl: { mechanism: 'plain', username: 'u', password_file: join(dir, 'nope') } } }).kafka.sasl!;
    expect(() => saslOptions(missing)).toThrow(/kafka\.sasl\.password_file: cannot read .*nope \(ENOENT\)/);
    const empty = validateConfig({ kafka: { sasl: { mechanism: 'plain', username: 'u', password_file: file('empty', '\n') } } }).kafka.sasl!;
    expect(() => saslOptions(empty)).toThrow(/password in .*empty is empty/);
  });
});

describe('kafka.tls', () => {
  test('ssl: true trusts the system CAs; tls reads the CA, certificate and key files', () => {
    expect(tlsOptions({ ssl: true, tls: undefined })).toBe(true);
    expect(tlsOptions({ ssl: false, tls: undefined })).toBe(false);
    const tls = validateConfig({
      kafka: { tls: { ca_file: file('ca.pem', 'CA-PEM'), cert_file: file('cert.pem', 'CERT-PEM'), key_file: file('key.pem', 'KEY-PEM') } },
    }).kafka;
    expect(tlsOptions(tls)).toEqual({ rejectUnauthorized: true, ca: ['CA-PEM'], cert: 'CERT-PEM', key: 'KEY-PEM' });
    expect(tlsOptions(validateConfig({ kafka: { tls: { reject_unauthorized: false } } }).kafka)).toEqual({ rejectUnauthorized: false });
  });

  test('a client certificate needs its key; a missing file names the key', () => {
    expect(configError({ tls: { cert_file: '/c.pem' } })).toMatch(/kafka\.tls: cert_file and key_file go together/);
    expect(() => tlsOptions(validateConfig({ kafka: { tls: { ca_file: join(dir, 'missing.pem') } } }).kafka)).toThrow(/kafka\.tls\.ca_file: cannot read .*missing\.pem \(ENOENT\)/);
  });
});
