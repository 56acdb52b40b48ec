/** Whole-file JSON state written atomically (temporary file, then rename) with saves serialised. */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export class AtomicJsonFile {
  private chain: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  /** undefined when the file does not exist yet. */
  async read(): Promise<unknown> {
    try {
      return JSON.parse(await readFile(this.path, 'utf8')) as unknown;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  write(value: unknown): Promise<void> {
    const text = JSON.stringify(value);
    const next = this.chain.then(async () => {
      await mkdir(dirname(this.path), { recursive: true });
      const tmp = `${this.path}.${process.pid}.tmp`;
      await writeFile(tmp, text);
      await rename(tmp, this.path);
    });
    // A failed write must not poison later ones; the caller still sees this one fail.
    this.chain = next.catch(() => undefined);
    return next;
  }
}
