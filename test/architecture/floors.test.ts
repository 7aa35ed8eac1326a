/**
 * The floors of server/ (README, "Layout of the code"): each folder imports only
 * from its own folder and from folders on a lower floor, and no files import
 * one another in a circle. Data flows up the floors (ingest writes the store,
 * the engine reads it, the service publishes what the engine and privacy give
 * it, the dashboard shows it); an import that ran back down the flow, or round
 * in a circle, would tie a lower room to one above it.
 *
 * FLOORS is the one place the order is written. A folder not listed fails the
 * test, so a new folder is placed on purpose.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Import, importsUnder, ROOT } from './imports.js';

/** Lowest first. Rooms on one floor stand side by side: they may not import one another. */
export const FLOORS: readonly (readonly string[])[] = [
  // Shared by everything: errors, day numbers and dates, slices, string indexes; the constants the kernels compile too,
  // and the kernels' declarations asc emits (dist/kernels/opalite.d.ts, types only: engine/wasm.ts's RawKernels).
  ['server/errors.ts', 'server/util', 'kernels/shared', 'dist/kernels'],
  // Pure building blocks: geometry, privacy mechanisms and redaction rules, the WebAssembly host.
  ['server/geo', 'server/privacy', 'server/wasm'],
  // The day-partitioned store and its event schema.
  ['server/store'],
  // Writing the store (ingest), reading it (engine: spec, plan, kernels, run), and result formats, side by side.
  ['server/ingest', 'server/engine', 'server/format'],
  // Built on those: synthetic datasets (the event schema), OPAL indicators (the engine).
  ['server/generate', 'server/indicators'],
  // REST, stream, auth, audit: the service.
  ['server/service'],
  // At the top: the browser dashboard, the command line.
  ['server/dashboard', 'server/cli'],
];

/** The room (a FLOORS entry) that holds `file`, or undefined. */
export function roomOf(file: string, floors = FLOORS): string | undefined {
  return floors.flat().find((room) => file === room || file.startsWith(`${room}/`));
}

function floorOf(room: string, floors: readonly (readonly string[])[]): number {
  return floors.findIndex((f) => f.includes(room));
}

/** Every import that does not run down a floor, as a sentence naming both files and the line. */
export function upwardImports(imports: readonly Import[], floors = FLOORS): string[] {
  const out: string[] = [];
  for (const i of imports) {
    const from = roomOf(i.from, floors);
    const to = roomOf(i.to, floors);
    if (!from || !to) {
      out.push(`${i.from}:${i.line} imports ${i.to}: expected both in a room of FLOORS, found ${from ? to ? '' : i.to : i.from} in none`);
      continue;
    }
    if (from === to) continue;
    const [f, t] = [floorOf(from, floors), floorOf(to, floors)];
    if (t >= f) out.push(`${i.from}:${i.line} imports ${i.to}: expected a floor below ${from} (floor ${f}), found ${to} on floor ${t}`);
  }
  return out;
}

/** Every circle of files importing one another (Tarjan's strongly connected components of more than one file, or a file importing itself). */
export function circles(files: readonly string[], imports: readonly Import[]): string[][] {
  const next = new Map<string, string[]>();
  for (const i of imports) next.set(i.from, [...(next.get(i.from) ?? []), i.to]);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || next.get(v)?.includes(v)) out.push(component.sort());
    }
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return out;
}

describe('the checks themselves', () => {
  const floors = [['a'], ['b', 'c'], ['d']];
  const imp = (from: string, to: string): Import => ({ from, to, line: 1 });

  it('pass a downward import and one within a room, and name an upward one, a sideways one and an unplaced file', () => {
    expect(upwardImports([imp('d/x.ts', 'b/y.ts'), imp('b/y.ts', 'a/z.ts'), imp('b/y.ts', 'b/w.ts')], floors)).toEqual([]);
    expect(upwardImports([imp('a/z.ts', 'b/y.ts'), imp('b/y.ts', 'c/v.ts'), imp('e/u.ts', 'a/z.ts')], floors)).toEqual([
      'a/z.ts:1 imports b/y.ts: expected a floor below a (floor 0), found b on floor 1',
      'b/y.ts:1 imports c/v.ts: expected a floor below b (floor 1), found c on floor 1',
      'e/u.ts:1 imports a/z.ts: expected both in a room of FLOORS, found e/u.ts in none',
    ]);
  });

  it('find a circle of three files (type-only imports count) and a file importing itself, and no circle in a chain', () => {
    const files = ['p.ts', 'q.ts', 'r.ts', 's.ts', 't.ts'];
    expect(circles(files, [imp('p.ts', 'q.ts'), imp('q.ts', 'r.ts'), imp('r.ts', 's.ts')])).toEqual([]);
    expect(circles(files, [imp('p.ts', 'q.ts'), imp('q.ts', 'r.ts'), imp('r.ts', 'p.ts'), imp('s.ts', 's.ts'), imp('t.ts', 'p.ts')])).toEqual([
      ['p.ts', 'q.ts', 'r.ts'],
      ['s.ts'],
    ]);
  });
});

describe('server/', () => {
  const { files, imports } = importsUnder('server');

  it('reads the imports (the graph is not empty: the engine imports the store)', () => {
    expect(files).toContain('server/engine/engine.ts');
    expect(imports.some((i) => i.from.startsWith('server/engine/') && i.to.startsWith('server/store/'))).toBe(true);
  });

  it('has every folder in a room of FLOORS, and no import that runs up or sideways a floor', () => {
    expect(files.filter((f) => !roomOf(f))).toEqual([]);
    expect(upwardImports(imports)).toEqual([]);
  });

  it('imports nothing from test/: the reference implementations (test/reference/) are the tests\' oracles, not product', () => {
    expect(imports.filter((i) => i.to.startsWith('test/')).map((i) => `${i.from}:${i.line} imports ${i.to}`)).toEqual([]);
    expect(files.filter((f) => /reference/.test(f.split('/').pop()!))).toEqual([]);
  });

  it('has no files that import one another in a circle', () => {
    expect(circles(files, imports)).toEqual([]);
  });
});

describe("README's Layout of the code", () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const layout = readme.slice(readme.indexOf('## Layout of the code'));
  const folders = (dir: string) =>
    fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);

  it('names every folder of server/ and of server/engine/, so the map matches the tree', () => {
    const missing = [...folders('server'), ...folders('server/engine')].filter((f) => !layout.includes(`${f}/`));
    expect(missing).toEqual([]);
  });

  it('places every room of FLOORS on the floor FLOORS gives it', () => {
    const rows = FLOORS.map((rooms, floor) => ({ floor, row: layout.split('\n').find((l) => l.startsWith(`| ${floor} |`)) ?? '' }));
    const misplaced = rows.flatMap(({ floor, row }) => FLOORS[floor]!.filter((room) => !row.includes(`\`${room.replace(/^server\//, '')}`)).map((room) => `${room} (floor ${floor})`));
    expect(misplaced).toEqual([]);
  });
});
