/**
 * The import graph of server/: every relative import (static, dynamic, type-only
 * and re-exports) of every .ts file, resolved to the file it names. Read with
 * TypeScript's own pre-processor, so a comment or a string that looks like an
 * import is not taken for one.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');

export interface Import {
  /** Repository-relative paths, with forward slashes. */
  from: string;
  to: string;
  line: number;
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...sources(rel));
    else if (/\.(ts|mts|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(rel);
  }
  return out.sort();
}

/** `spec` as imported from `from`, as a repository path (`.js` is the compiled name of a `.ts` source). */
function resolve(from: string, spec: string): string {
  const target = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  if (target.endsWith('.js') && fs.existsSync(path.join(ROOT, target.slice(0, -3) + '.ts'))) return target.slice(0, -3) + '.ts';
  return target;
}

/** Every relative import of the files under `dir` (repository-relative). */
export function importsUnder(dir: string): { files: string[]; imports: Import[] } {
  const files = sources(dir);
  const imports: Import[] = [];
  for (const from of files) {
    const text = fs.readFileSync(path.join(ROOT, from), 'utf8');
    const info = ts.preProcessFile(text, true, true);
    for (const ref of info.importedFiles) {
      if (!ref.fileName.startsWith('.')) continue;
      const line = text.slice(0, ref.pos).split('\n').length;
      imports.push({ from, to: resolve(from, ref.fileName), line });
    }
  }
  return { files, imports };
}
