import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DUMMY_PASSWORD_HASH, hashPassword, PASSWORD_HASH_PATTERN, readSecretFromStdin, verifyPassword } from './passwords.js';

const CHEAP = { N: 1024, r: 8, p: 1 };

describe('password hashes', () => {
  it('verifies the password it hashed and nothing else; salts differ', async () => {
    const a = await hashPassword('correct horse', CHEAP);
    const b = await hashPassword('correct horse', CHEAP);
    expect(a).toMatch(PASSWORD_HASH_PATTERN);
    expect(a).not.toBe(b);
    expect(a).not.toContain('correct');
    expect(await verifyPassword('correct horse', a)).toBe(true);
    expect(await verifyPassword('correct horsf', a)).toBe(false);
    expect(await verifyPassword('', a)).toBe(false);
  });

  it('a malformed hash or the dummy matches no password', async () => {
    expect(await verifyPassword('x', 'plain-text')).toBe(false);
    expect(await verifyPassword('x', 'scrypt$3$8$1$AAAA$AAAA')).toBe(false);
    expect(await verifyPassword('', DUMMY_PASSWORD_HASH)).toBe(false);
  });

  it('reads the secret from the first line of stdin', async () => {
    expect(await readSecretFromStdin(Readable.from(['s3cret\r\nrest']))).toBe('s3cret');
    await expect(readSecretFromStdin(Readable.from(['']))).rejects.toThrow(/nothing read from stdin/);
  });
});
