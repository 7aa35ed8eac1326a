/** The table view: what the map shows, one row per region (or per flow), withheld rows saying so. */
import type { ComparisonKind, Picture, Shown } from './values.js';

const cell = (v: number | null | undefined, why?: string | null) => {
  const td = document.createElement('td');
  if (v === null || v === undefined) {
    td.textContent = why ?? '';
    td.className = 'withheld';
  } else td.textContent = v.toLocaleString('en');
  return td;
};

function header(table: HTMLTableElement, names: string[]): void {
  const tr = document.createElement('tr');
  for (const n of names) {
    const th = document.createElement('th');
    th.textContent = n;
    tr.append(th);
  }
  table.createTHead().append(tr);
}

export function renderTable(table: HTMLTableElement, kind: ComparisonKind, names: ReadonlyMap<string, string>, shown: ReadonlyMap<string, Shown>, picture: Picture): void {
  table.replaceChildren();
  const body = document.createElement('tbody');
  if (picture.flows) {
    header(table, ['region', 'name', 'total in', 'total out']);
    for (const [pcod, name] of names) {
      const t = picture.totals?.get(pcod);
      const tr = document.createElement('tr');
      tr.dataset.pcod = pcod;
      tr.append(cell(null, pcod), cell(null, name), cell(t?.in ?? null, 'none published'), cell(t?.out ?? null, 'none published'));
      tr.firstElementChild!.className = '';
      tr.children[1]!.className = '';
      body.append(tr);
    }
  } else {
    const cols = ['region', 'name', 'value'];
    if (kind !== 'value') cols.push(kind === 'abnormality' ? 'median (12 months)' : 'previous period', kind.replace('_', ' '));
    header(table, cols);
    for (const [pcod, name] of names) {
      const s = shown.get(pcod);
      const tr = document.createElement('tr');
      tr.dataset.pcod = pcod;
      const id = document.createElement('td');
      id.textContent = pcod;
      const nm = document.createElement('td');
      nm.textContent = name;
      tr.append(id, nm, cell(s?.value ?? null, s ? 'withheld' : 'waiting'));
      if (kind !== 'value') tr.append(cell(s?.reference ?? null, '–'), cell(s?.shown ?? null, s?.why ?? 'waiting'));
      body.append(tr);
    }
  }
  table.append(body);
}
