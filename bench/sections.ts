/**
 * Benchmark files shared by several scripts: bench/kernels.ts writes the tables of bench/KERNELS.md,
 * bench/parallel.ts one section of it, and hand-written notes sit between; each rewrite keeps the others' parts.
 */

/** `text` (which starts with `heading`) in place of the old section of that heading, up to the next `## `, or appended. */
export function replaceSection(old: string, heading: string, text: string): string {
  const at = old.indexOf(`${heading}\n`);
  if (at < 0) return old.trim() ? `${old.trimEnd()}\n\n${text}` : text;
  const next = old.indexOf('\n## ', at + heading.length);
  return `${old.slice(0, at)}${text.trimEnd()}\n${next < 0 ? '' : '\n' + old.slice(next + 1)}`;
}

/** Every section after the one headed `heading` (and its text), kept when a script rewrites what comes before. */
export function sectionsAfter(old: string, heading: string): string {
  const at = old.indexOf(`${heading}\n`);
  const next = at < 0 ? -1 : old.indexOf('\n## ', at + heading.length);
  return next < 0 ? '' : '\n' + old.slice(next + 1);
}
