/** One writer at a time per store: an exclusive lock file holding the writer's pid. */
import fs from 'node:fs';
import { StoreError } from '../errors.js';
import { paths } from './layout.js';

/** Whether a process with this pid exists (EPERM: it does, owned by another user): a dead holder's lock or lease may be broken. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the store's write lock, breaking it if its holder is dead; returns the release function. */
export function lockStore(store: string): () => void {
  const file = paths.lock(store);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      let released = false;
      return () => {
        if (released) return;
        released = true;
        fs.rmSync(file, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number(fs.readFileSync(file, 'utf8'));
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
        throw new StoreError('STORE_LOCKED', `${store}: another writer (pid ${holder}) holds the store`);
      }
      fs.rmSync(file, { force: true }); // stale: its writer died without releasing it
    }
  }
  throw new StoreError('STORE_LOCKED', `${store}: cannot take the write lock`);
}
