/** bench/KERNELS.md is written by two scripts around hand-written notes: each rewrite keeps the others' sections. */
import { describe, expect, it } from 'vitest';
import { replaceSection, sectionsAfter } from '../../bench/sections.js';

const file = ['# Kernel benchmarks', '', '| table |', '', '## What one run does', '', '- a', '', '## Both cores', '', 'old figures', '', '## Notes', '', 'kept', ''].join('\n');

describe('bench sections', () => {
  it('replaces one section up to the next heading, keeping what comes before and after', () => {
    const out = replaceSection(file, '## Both cores', '## Both cores\n\nnew figures\n');
    expect(out).toBe(file.replace('old figures', 'new figures'));
  });

  it('appends a section the file does not have yet, or starts the file with it', () => {
    expect(replaceSection('# T\n\nx\n', '## Both cores', '## Both cores\n\ny\n')).toBe('# T\n\nx\n\n## Both cores\n\ny\n');
    expect(replaceSection('', '## Both cores', '## Both cores\n\ny\n')).toBe('## Both cores\n\ny\n');
  });

  it('gives the sections after a heading, for a script that rewrites what comes before them', () => {
    expect(sectionsAfter(file, '## What one run does')).toBe('\n## Both cores\n\nold figures\n\n## Notes\n\nkept\n');
    expect(sectionsAfter(file, '## Notes')).toBe('');
    expect(sectionsAfter('', '## What one run does')).toBe('');
  });
});
