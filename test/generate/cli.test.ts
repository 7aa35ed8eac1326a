import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { generateCommand } from '../../server/cli/generate.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

describe('opalite generate (command)', () => {
  it('is named generate and documents every option in --help', () => {
    const cmd = generateCommand();
    expect(cmd.name()).toBe('generate');
    const help = cmd.helpInformation();
    for (const flag of ['--out', '--subscribers', '--days', '--start', '--seed', '--scenario', '--format', '--files', '--disaster-date']) {
      expect(help).toContain(flag);
    }
    expect(help).toContain('displacement');
    expect(help).toContain('parquet');
  });

  it('writes a dataset and prints a summary line', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-cli-'));
    dirs.push(out);
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    let printed = '';
    try {
      await generateCommand().parseAsync(['--out', out, '--subscribers', '50', '--days', '2', '--scenario', 'displacement'], { from: 'user' });
      printed = write.mock.calls.map((c) => String(c[0])).join('');
    } finally {
      write.mockRestore();
    }
    expect(printed).toMatch(/^generated [\d,]+ events \(events\/events\.csv, .+\) in [\d.]+ s/);
    expect(printed).toContain('displacement:');
    for (const f of ['dataset.json', 'cells.csv', 'regions/admin1.geojson', 'regions/admin3.geojson', 'events/events.csv']) {
      expect(fs.existsSync(path.join(out, f)), f).toBe(true);
    }
  });

  it('rejects a non-integer count before generating anything', async () => {
    const cmd = generateCommand().exitOverride().configureOutput({ writeErr: () => undefined });
    await expect(cmd.parseAsync(['--out', '/tmp/never', '--days', 'many'], { from: 'user' })).rejects.toThrow(/positive integer/);
  });
});
