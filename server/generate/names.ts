/**
 * Fictional place names from syllables, unique within one country. ASCII only,
 * so that names survive every file format and terminal unchanged.
 */
import type { Rng } from './prng.js';

const ONSETS = ['b', 'd', 'g', 'k', 'l', 'm', 'n', 's', 't', 'y', 'z', 'bo', 'dj', 'gb', 'kp', 'ny', 'w', 'f', 'h', 'ts'];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'ou', 'a', 'o', 'e'];
const CODAS = ['', '', '', 'n', 'ro', 'ssa', 'go', 'ma', 'dou', 'kro', 'fla', 'bo'];

export class NameMaker {
  private readonly used = new Set<string>();
  constructor(private readonly rng: Rng) {}

  /** A new name of 2-3 syllables, never returned before by this maker. */
  next(): string {
    for (;;) {
      const syllables = 2 + this.rng.int(2);
      let name = '';
      for (let i = 0; i < syllables; i++) name += pick(this.rng, ONSETS) + pick(this.rng, VOWELS);
      name += pick(this.rng, CODAS);
      name = name[0]!.toUpperCase() + name.slice(1);
      if (!this.used.has(name)) {
        this.used.add(name);
        return name;
      }
    }
  }
}

function pick(rng: Rng, items: readonly string[]): string {
  return items[rng.int(items.length)]!;
}
