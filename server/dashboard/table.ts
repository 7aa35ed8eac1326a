/**
 * The table view: what the map shows, one row per region, withheld rows
 * saying why. Noised values (differential privacy) are marked "approx." with
 * their 95% ± beside them.
 */
import { intervalOf } from './privacy.js';
import type { ComparisonKind, Picture, Shown } from './values.js';

const number = (v: number) => v.toLocaleString('en', { maximumFractionDigits: 2 });

function cell(v: number | null | undefined, why: string | null | undefined, format: (v: number) => string = number): HTMLTableCellElement {
  const td = document.createElement('td');
  if (v === null || v === undefined) {
    td.textContent = why ?? '';
    td.className = 'withheld';
  } else td.textContent = format(v);
  return td;
}

const text = (s: string) => Object.assign(document.createElement('td'), { textContent: s });

function header(table: HTMLTableElement, names: string[]): void {
  const tr = document.createElement('tr');
  for (const n of names) tr.append(Object.assign(document.createElement('th'), { textContent: n }));
  table.createTHead().append(tr);
}

/** A noised value: "approx. 1,200 ± 40", with the ± in its own element for tests and screen readers. */
function approx(td: HTMLTableCellElement, half: number | null): void {
  if (half === null || td.className === 'withheld') return;
  const v = td.textContent;
  td.textContent = `approx. ${v} `;
  const pm = Object.assign(document.createElement('span'), { className: 'pm', textContent: `± ${number(half)}` });
  td.dataset.interval = String(half);
  td.append(pm);
}

export function renderTable(
  table: HTMLTableElement,
  kind: ComparisonKind,
  names: ReadonlyMap<string, string>,
  shown: ReadonlyMap<string, Shown>,
  picture: Picture,
  format: (v: number) => string,
): void {
  table.replaceChildren();
  const body = document.createElement('tbody');
  if (picture.flows) {
    header(table, ['region', 'name', 'total out', 'total in', 'net (in − out)']);
    for (const [pcod, name] of names) {
      const t = picture.totals?.get(pcod);
      const tr = document.createElement('tr');
      tr.dataset.pcod = pcod;
      const none = 'none published';
      tr.append(text(pcod), text(name), cell(t?.out || null, none), cell(t?.in || null, none), cell(t ? t.in - t.out : null, none, (v) => (v > 0 ? `+${number(v)}` : v < 0 ? `−${number(-v)}` : '0')));
      body.append(tr);
    }
  } else {
    const cols = ['region', 'name', 'value'];
    if (kind !== 'value') cols.push(kind === 'abnormality' ? 'median (12 months)' : 'previous period', { diff: 'difference', percent_change: 'percent change', abnormality: 'abnormality score' }[kind]);
    header(table, cols);
    for (const [pcod, name] of names) {
      const s = shown.get(pcod);
      const tr = document.createElement('tr');
      tr.dataset.pcod = pcod;
      const value = cell(s?.value ?? null, s ? (s.value === null ? s.why ?? 'withheld' : null) : 'waiting');
      approx(value, intervalOf(picture.privacy, pcod));
      tr.append(text(pcod), text(name), value);
      if (kind !== 'value') tr.append(cell(s?.reference ?? null, '–'), cell(s?.shown ?? null, s?.why ?? 'waiting', format));
      body.append(tr);
    }
  }
  table.append(body);
}
