/**
 * Serialised bodies (a result in a format, a unit's geography), kept for
 * repeated requests up to a byte budget, least recently used out first.
 */
export class BodyCache {
  private readonly bodies = new Map<string, Uint8Array>();
  private bytes = 0;

  constructor(private readonly budget: number) {}

  get size(): number {
    return this.bodies.size;
  }

  get(key: string): Uint8Array | undefined {
    const b = this.bodies.get(key);
    if (b) {
      this.bodies.delete(key);
      this.bodies.set(key, b);
    }
    return b;
  }

  set(key: string, body: Uint8Array): void {
    if (body.byteLength > this.budget) return;
    const old = this.bodies.get(key);
    if (old) this.bytes -= old.byteLength;
    this.bodies.delete(key);
    this.bodies.set(key, body);
    this.bytes += body.byteLength;
    for (const [k, b] of this.bodies) {
      if (this.bytes <= this.budget) break;
      this.bodies.delete(k);
      this.bytes -= b.byteLength;
    }
  }

  /** Computes and keeps the body of `key` when absent; concurrent callers share one computation. */
  async through(key: string, make: () => Promise<Uint8Array> | Uint8Array): Promise<Uint8Array> {
    const hit = this.get(key);
    if (hit) return hit;
    let p = this.making.get(key);
    if (!p) {
      p = Promise.resolve()
        .then(make)
        .then((b) => {
          this.set(key, b);
          return b;
        })
        .finally(() => this.making.delete(key));
      this.making.set(key, p);
    }
    return p;
  }

  private readonly making = new Map<string, Promise<Uint8Array>>();

  clear(): void {
    this.bodies.clear();
    this.bytes = 0;
  }
}
