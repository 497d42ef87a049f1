// ArchiveStore on a local directory. put() is all-or-nothing and durable: the bytes go to a
// temporary file in the same directory, which is fsynced, renamed over the name, and the directory
// fsynced so the rename itself survives a power cut. A crash leaves at most a `.tmp-*` file, which
// list() never returns and the next put() of that name does not care about.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ArchiveError } from '../core/errors.ts';
import type { ArchiveStore } from './store.ts';

const TMP = '.tmp-';

export class FsArchiveStore implements ArchiveStore {
  readonly location: string;
  private readonly root: string;

  constructor(dir: string) {
    this.root = resolve(dir);
    this.location = pathToFileURL(this.root).href;
  }

  private path(name: string): string {
    if (name.startsWith('/') || name.split('/').some((p) => p === '..' || p === '' || p.startsWith(TMP))) {
      throw new ArchiveError(`archive object name "${name}" is not a relative path inside ${this.location}`);
    }
    return join(this.root, ...name.split('/'));
  }

  async put(name: string, body: Buffer): Promise<void> {
    const target = this.path(name);
    const dir = dirname(target);
    await mkdir(dir, { recursive: true });
    const tmp = join(dir, `${TMP}${randomBytes(6).toString('hex')}`);
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(body);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  }

  async get(name: string): Promise<Buffer | null> {
    try {
      return await readFile(this.path(name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new ArchiveError(`cannot read ${name} in ${this.location}: ${(err as Error).message}`, { cause: err });
    }
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw new ArchiveError(`cannot list ${dir}: ${(err as Error).message}`, { cause: err });
      }
      for (const e of entries) {
        if (e.name.startsWith(TMP)) continue;
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else out.push(relative(this.root, p).split(sep).join('/'));
      }
    };
    await walk(this.root);
    return out.filter((n) => n.startsWith(prefix)).sort();
  }

  async delete(name: string): Promise<void> {
    await rm(this.path(name), { force: true });
  }

  async close(): Promise<void> {}
}
