/**
 * Password hashes of `auth.users`: scrypt (memory-hard, in node:crypto), stored as
 * `scrypt$N$r$p$<salt base64>$<hash base64>` so the cost can be raised later without breaking
 * existing entries. `pharos auth hash-password` prints one (the password read from stdin, never
 * from the command line, where `ps` would show it).
 */
import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export const PASSWORD_HASH_PATTERN = /^scrypt\$(\d{1,7})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

/** N=2^15, r=8: 32 MiB and about 0.15 s per check on this project's 2-core test machine (OWASP's floor is 2^17 at 128 MiB). */
const DEFAULT_COST = { N: 1 << 15, r: 8, p: 1 };
const KEY_BYTES = 32;

function scryptAsync(password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keylen, { ...opts, maxmem: 256 * opts.N! * opts.r! }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashPassword(password: string, cost = DEFAULT_COST): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, KEY_BYTES, cost);
  return `scrypt$${cost.N}$${cost.r}$${cost.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** True when `password` matches `encoded`; false for a malformed hash too. Constant time over the key. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const m = PASSWORD_HASH_PATTERN.exec(encoded);
  if (!m) return false;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const expected = Buffer.from(m[5]!, 'base64');
  let key: Buffer;
  try {
    key = await scryptAsync(password, Buffer.from(m[4]!, 'base64'), expected.length, { N, r, p });
  } catch {
    return false;
  }
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A hash no password matches, checked for unknown users so the answer takes as long as for known ones. */
export const DUMMY_PASSWORD_HASH = `scrypt$${DEFAULT_COST.N}$${DEFAULT_COST.r}$${DEFAULT_COST.p}$${randomBytes(16).toString('base64')}$${createHash('sha256').update(randomBytes(32)).digest('base64')}`;

/** The first line of stdin, trimmed: how the CLI takes a secret (`echo -n … |`, or typed and Enter). */
export async function readSecretFromStdin(stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  let text = '';
  for await (const chunk of stdin) {
    text += chunk.toString();
    if (text.includes('\n')) break;
  }
  const secret = text.split('\n')[0]!.replace(/\r$/, '');
  if (secret === '') throw new Error('nothing read from stdin: pipe the secret in, e.g. `read -rs P; printf %s "$P" | pharos auth hash-password`');
  return secret;
}
