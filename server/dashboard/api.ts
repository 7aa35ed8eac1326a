/**
 * The REST routes the page reads, with the token as a Bearer header: the
 * catalog, the stored days, a unit's geography, one indicator for a period,
 * and a FlowKit spec run to completion (run, poll, get). A refusal becomes an
 * Error carrying the service's own message (it names the limit).
 */
import type { CatalogEntry, Geography, IndicatorResult, Row } from '../service/wire.js';

export const API = '/api/0';

/** Specs per POST /series: about 300 bytes each, well inside the service's default 64 KiB body. */
const SPECS_PER_REQUEST = 100;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class Api {
  constructor(private readonly token: string) {}

  private async request(path: string, init: RequestInit = {}): Promise<Response> {
    const r = await fetch(`${API}${path}`, { ...init, headers: { Authorization: `Bearer ${this.token}`, ...init.headers } });
    if (r.status >= 400) {
      const body = (await r.json().catch(() => ({}))) as { code?: string; msg?: string };
      throw new ApiError(r.status, body.code ?? String(r.status), `${path}: ${body.msg ?? r.statusText}`);
    }
    return r;
  }

  private async json<T>(path: string): Promise<T> {
    return (await (await this.request(path)).json()) as T;
  }

  async catalog(): Promise<CatalogEntry[]> {
    return (await this.json<{ indicators: CatalogEntry[] }>('/indicators')).indicators;
  }

  /** Every stored day with any event, in order. */
  async days(): Promise<string[]> {
    const { available_dates } = await this.json<{ available_dates: Record<string, string[]> }>('/available_dates');
    return [...new Set(Object.values(available_dates).flat())].sort();
  }

  geography(unit: string): Promise<Geography> {
    return this.json<Geography>(`/geography/${encodeURIComponent(unit)}`);
  }

  /** One indicator for the period holding `period`. */
  indicator(id: string, unit: string, resolution: string, period: string, scale: boolean): Promise<IndicatorResult> {
    const q = new URLSearchParams({ unit, resolution, period, ...(scale ? { scale: 'true' } : {}) });
    return this.json<IndicatorResult>(`/indicators/${encodeURIComponent(id)}?${q}`);
  }

  /** The indicator for every period from the one holding `from` to the one holding `to`, oldest first, in one request. */
  async indicatorSeries(id: string, unit: string, resolution: string, from: string, to: string, scale: boolean): Promise<IndicatorResult[]> {
    const q = new URLSearchParams({ unit, resolution, from, to, ...(scale ? { scale: 'true' } : {}) });
    return (await this.json<{ periods: IndicatorResult[] }>(`/indicators/${encodeURIComponent(id)}/series?${q}`)).periods;
  }

  /**
   * Why the service refuses an indicator for a period, in its own words ("TIER_FRESHNESS: expected dates before
   * ..."), or null when it answers: the page asks when the tier's window leaves it nothing to offer.
   */
  async refusal(id: string, unit: string, resolution: string, period: string): Promise<string | null> {
    try {
      await this.request(`/indicators/${encodeURIComponent(id)}?${new URLSearchParams({ unit, resolution, period })}`);
      return null;
    } catch (e) {
      return e instanceof ApiError ? `${e.code}: ${e.message.replace(/^[^:]*: /, '')}` : (e as Error).message;
    }
  }

  /** Each spec's redacted rows and their protection, in order: one POST /series per SPECS_PER_REQUEST specs (the service bounds a body). */
  async runAll(specs: readonly unknown[]): Promise<{ rows: Row[]; privacy?: unknown }[]> {
    const out: { rows: Row[]; privacy?: unknown }[] = [];
    for (let i = 0; i < specs.length; i += SPECS_PER_REQUEST) {
      const body = JSON.stringify({ specs: specs.slice(i, i + SPECS_PER_REQUEST) });
      const r = await this.request('/series', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
      for (const res of ((await r.json()) as { results: { query_result: Row[]; privacy?: unknown }[] }).results) out.push({ rows: res.query_result, privacy: res.privacy });
    }
    return out;
  }
}
