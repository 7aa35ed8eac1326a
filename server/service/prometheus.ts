/**
 * Operator metrics in Prometheus' text exposition format: counters kept here,
 * gauges read at scrape time from whoever owns the number.
 */

type Labels = Record<string, string>;

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labelText = (l: Labels) => {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${escape(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
};

class Counter {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    const v = this.values.get(key);
    if (v) v.value += by;
    else this.values.set(key, { labels, value: by });
  }

  get(labels: Labels = {}): number {
    return this.values.get(labelText(labels))?.value ?? 0;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const { labels, value } of this.values.values()) lines.push(`${this.name}${labelText(labels)} ${value}`);
    return lines;
  }
}

export interface Gauge {
  name: string;
  help: string;
  value: () => number;
}

export class PrometheusMetrics {
  readonly requests = new Counter('opalite_http_requests_total', 'HTTP requests by route and status.');
  readonly frames = new Counter('opalite_stream_frames_total', 'Stream frames sent, by op.');
  readonly skippedPartials = new Counter(
    'opalite_stream_partials_skipped_total',
    'Partial frames not sent to a choked client because a newer estimate replaced them.',
  );
  readonly slowClosed = new Counter('opalite_stream_slow_clients_closed_total', 'Stream clients closed for reading too slowly.');
  private readonly gauges: Gauge[] = [];
  /** Response bytes not yet accepted by the kernel (HTTP bodies written with backpressure). */
  httpBytesPending = 0;

  constructor() {
    this.gauge('opalite_http_bytes_pending', 'Response bytes waiting for slow HTTP clients.', () => this.httpBytesPending);
  }

  gauge(name: string, help: string, value: () => number): void {
    this.gauges.push({ name, help, value });
  }

  render(): string {
    const lines = [...this.requests.render(), ...this.frames.render(), ...this.skippedPartials.render(), ...this.slowClosed.render()];
    for (const g of this.gauges) lines.push(`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} gauge`, `${g.name} ${g.value()}`);
    return lines.join('\n') + '\n';
  }
}
