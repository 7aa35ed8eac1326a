/**
 * The REST routes the page reads, with the token as a Bearer header: the
 * catalog, the stored days, a unit's geography, one indicator for a period,
 * and a FlowKit spec run to completion (run, poll, get). A refusal becomes an
 * Error carrying the service's own message (it names the limit).
 */
import type { CatalogEntry, Geography, IndicatorResult, Row } from './protocol.js';

export const API = '/api/0';

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

  indicator(id: string, unit: string, resolution: string, period: string, scale: boolean): Promise<IndicatorResult> {
    const q = new URLSearchParams({ unit, resolution, period, ...(scale ? { scale: 'true' } : {}) });
    return this.json<IndicatorResult>(`/indicators/${encodeURIComponent(id)}?${q}`);
  }

  /** POST /run, poll until done, GET the JSON result. */
  async run(spec: unknown): Promise<{ query_id: string; rows: Row[] }> {
    const r = await this.request('/run', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(spec) });
    const { query_id } = (await r.json()) as { query_id: string };
    for (let wait = 20; ; wait = Math.min(wait * 2, 500)) {
      const p = await this.request(`/poll/${query_id}`, { redirect: 'manual' });
      // fetch follows the 303 to /get unless told not to; 'manual' gives an opaque redirect.
      if (p.type === 'opaqueredirect' || p.status === 303 || p.status === 200) break;
      await new Promise((res) => setTimeout(res, wait));
    }
    const g = await this.json<{ query_id: string; query_result: Row[] }>(`/get/${query_id}`);
    return { query_id: g.query_id, rows: g.query_result };
  }
}
