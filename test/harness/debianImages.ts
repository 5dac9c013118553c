// Debian base images for the image and systemd tests, without a registry: `debootstrap --variant=minbase`
// makes a bookworm root file system (about a minute, from Debian's package mirror), `docker import`
// turns it into an image on a private engine. The root file systems are kept as tarballs in
// /var/cache/rootwatch-test, so a second run on the same machine skips debootstrap.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { PrivateEngine } from './privateDockerd.js';

const execFileP = promisify(execFile);
const CACHE = '/var/cache/rootwatch-test';
const building = new Map<string, Promise<string>>();

/** A tarball of a bookworm minbase root file system with `include` packages added. */
export function bookwormRootfs(include: string[] = []): Promise<string> {
  const key = ['bookworm-minbase', ...include].join('+');
  let p = building.get(key);
  if (!p) {
    p = (async () => {
      const tar = join(CACHE, `${key}.tar`);
      if (existsSync(tar)) return tar;
      mkdirSync(CACHE, { recursive: true });
      const dir = mkdtempSync(join(CACHE, '.rootfs-'));
      try {
        const args = ['--variant=minbase', ...(include.length ? [`--include=${include.join(',')}`] : []), 'bookworm', dir];
        await execFileP('debootstrap', args, { timeout: 900_000, maxBuffer: 64 * 1024 * 1024 });
        // apt's lists and caches are not part of an image.
        await execFileP('sh', ['-c', `rm -rf '${dir}'/var/cache/apt/archives/*.deb '${dir}'/var/lib/apt/lists/*`]);
        await execFileP('tar', ['-C', dir, '--numeric-owner', '-cf', `${tar}.part`, '.'], { timeout: 300_000 });
        renameSync(`${tar}.part`, tar);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      return tar;
    })();
    building.set(key, p);
  }
  return p;
}

/** Import a root file system tarball as `tag` on the engine (once). */
export async function importImage(eng: PrivateEngine, tar: string, tag: string): Promise<void> {
  const images = await eng.cli('images', '-q', tag);
  if (images.trim()) return;
  await eng.cli('import', tar, tag);
}
