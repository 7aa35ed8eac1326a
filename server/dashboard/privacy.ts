/**
 * The protection an answer carries, as the service reports it beside the
 * values (REST `privacy` beside `query_result` or in an indicator answer, the
 * stream's partial and final frames): threshold redaction (values of k or
 * fewer withheld) or differential privacy (noised values, each with the
 * half-width of its 95% interval, and the privacy budget left). Read
 * defensively: the block is optional, and a field of the wrong type is
 * ignored rather than trusted, so an older service or a partial block never
 * breaks the page.
 */
export interface Privacy {
  mode: 'dp' | 'threshold';
  k: number;
  rho?: number;
  epsilon?: number;
  delta?: number;
  mechanism?: string;
  scale?: number;
  /** Half-width of the 95% interval: one for every value, or per region (p-code) when the service sends a map. */
  interval95?: number | Record<string, number>;
  budget?: { spent: number; remaining: number; period: string };
}

const num = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);

export function readPrivacy(raw: unknown): Privacy | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const r = raw as Record<string, unknown>;
  if (r.mode !== 'dp' && r.mode !== 'threshold') return null;
  const p: Privacy = { mode: r.mode, k: num(r.k) ?? 15 };
  for (const f of ['rho', 'epsilon', 'delta', 'scale'] as const) {
    const v = num(r[f]);
    if (v !== undefined) p[f] = v;
  }
  if (typeof r.mechanism === 'string') p.mechanism = r.mechanism;
  const iv = r.interval95;
  if (num(iv) !== undefined) p.interval95 = iv as number;
  else if (typeof iv === 'object' && iv !== null && !Array.isArray(iv)) {
    const m = Object.fromEntries(Object.entries(iv as Record<string, unknown>).filter(([, v]) => num(v) !== undefined)) as Record<string, number>;
    if (Object.keys(m).length > 0) p.interval95 = m;
  }
  const b = r.budget as Record<string, unknown> | undefined;
  if (typeof b === 'object' && b !== null && num(b.spent) !== undefined && num(b.remaining) !== undefined) {
    p.budget = { spent: b.spent as number, remaining: b.remaining as number, period: typeof b.period === 'string' ? b.period : '' };
  }
  return p;
}

/** The 95% half-width of a region's (or a pair's, keyed "from>to") value, when the answer is noised. */
export function intervalOf(p: Privacy | null, key: string): number | null {
  if (!p || p.mode !== 'dp' || p.interval95 === undefined) return null;
  return typeof p.interval95 === 'number' ? p.interval95 : p.interval95[key] ?? null;
}

const short = (v: number) => (Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en') : String(Math.round(v * 1000) / 1000));

/** One line on the protection of what is shown: the mode, its parameters, and the budget left. */
export function describePrivacy(p: Privacy | null): string {
  if (!p) return '';
  if (p.mode === 'threshold') return `Protection: values of ${p.k} or fewer withheld.`;
  const params = [
    p.epsilon !== undefined ? `ε = ${short(p.epsilon)}` : null,
    p.delta !== undefined ? `δ = ${p.delta.toExponential(0)}` : null,
    p.rho !== undefined ? `ρ = ${short(p.rho)}` : null,
    p.mechanism ? `${p.mechanism} mechanism` : null,
    p.scale !== undefined ? `noise scale ${short(p.scale)}` : null,
  ].filter((x) => x !== null);
  const iv = typeof p.interval95 === 'number' ? ` Values are approximate: each ± ${short(p.interval95)} (95%).` : p.interval95 ? ' Values are approximate: each with its ± (95%) in the table.' : ' Values are approximate.';
  const budget = p.budget ? ` Budget left: ${short(p.budget.remaining)} of ${short(p.budget.spent + p.budget.remaining)}${p.budget.period ? ` this ${p.budget.period}` : ''}.` : '';
  return `Protection: differential privacy${params.length ? ` (${params.join(', ')})` : ''}; values of ${p.k} or fewer withheld.${iv}${budget}`;
}
