/**
 * The one table type of the project and its printers: markdown (the CLI, summary.md, the
 * benches), CSV and JSON (for other tools), HTML (the report page).
 *
 * Cells are typed: numbers stay numbers until printed (CSV and JSON get them unrounded;
 * markdown and HTML round them to the column's `digits`), and `null` is a figure that does
 * not exist (no baseline, not measured): a dash in markdown and HTML, an empty CSV cell,
 * JSON null.
 */

export type Cell = number | string | null;

export interface Column {
  /** The field name in CSV headers and JSON rows. */
  key: string;
  /** The heading people read (markdown, HTML). */
  label: string;
  /** Right-aligned. */
  numeric?: boolean;
  /** Decimals when printed for people; integers print as they are without it. */
  digits?: number;
  /** Only in the machine formats (CSV, JSON): a field the text tables leave out. */
  machineOnly?: boolean;
}

export type Row = Record<string, Cell>;

export interface Table {
  title: string;
  /** A sentence saying what the numbers are. */
  note?: string;
  columns: Column[];
  rows: Row[];
}

export type TableFormat = 'md' | 'csv' | 'json';
export const TABLE_FORMATS: readonly TableFormat[] = ['md', 'csv', 'json'];

/** What stands in a text table where there is no figure. */
export const DASH = '—';

/** A cell as people read it: rounded, a dash for null. */
export function cellText(c: Column, v: Cell | undefined): string {
  if (v === null || v === undefined) return DASH;
  if (typeof v === 'number') return c.digits === undefined ? String(v) : v.toFixed(c.digits);
  return v;
}

const shown = (t: Table) => t.columns.filter((c) => !c.machineOnly);

/**
 * Text as markdown shows it literally, on one line: HTML's specials as entities (a name never
 * becomes a tag), every line break (CR, LF, U+2028, U+2029) a space. In a table cell the pipe
 * is escaped too, and so is the backslash first (else `a\` before an escaped pipe would
 * escape the escape, and the pipe would split the cell).
 */
export const escapeMarkdownText = (s: string) =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\r\n|[\r\n\u2028\u2029]/g, ' ');

const escapeMarkdown = (s: string) => escapeMarkdownText(s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|'));

/** Text in a markdown code span, whatever backticks it holds (the fence is one longer than its longest run). */
export function markdownCode(s: string): string {
  const text = s.replace(/\r\n|[\r\n\u2028\u2029]/g, ' ');
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((m) => m.length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** GitHub markdown: numeric columns right-aligned; no title (the caller heads it as it likes). */
export function markdownTable(t: Table): string {
  const cols = shown(t);
  const line = (cells: readonly string[]) => `| ${cells.map(escapeMarkdown).join(' | ')} |`;
  return [line(cols.map((c) => c.label)), `| ${cols.map((c) => (c.numeric ? '---:' : '---')).join(' | ')} |`, ...t.rows.map((r) => line(cols.map((c) => cellText(c, r[c.key]))))].join('\n');
}

const csvCell = (v: Cell | undefined): string => {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** RFC 4180 CSV with the column keys as the header, numbers unrounded. */
export function csvTable(t: Table): string {
  return [t.columns.map((c) => c.key).join(','), ...t.rows.map((r) => t.columns.map((c) => csvCell(r[c.key])).join(','))].join('\n');
}

/** An array of rows keyed by column key, numbers unrounded, null where there is no figure. */
export function jsonTable(t: Table): string {
  return JSON.stringify(
    t.rows.map((r) => Object.fromEntries(t.columns.map((c) => [c.key, r[c.key] ?? null]))),
    null,
    2,
  );
}

/** The table in one of the text formats, ending in a newline. */
export function formatTable(t: Table, format: TableFormat): string {
  return (format === 'csv' ? csvTable(t) : format === 'json' ? jsonTable(t) : markdownTable(t)) + '\n';
}

export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** An HTML table (numeric cells get class "num"), wrapped so that a wide one scrolls. */
export function htmlTable(t: Table): string {
  const cols = shown(t);
  const cls = (c: Column) => (c.numeric ? ' class="num"' : '');
  const head = cols.map((c) => `<th${cls(c)}>${escapeHtml(c.label)}</th>`).join('');
  const body = t.rows.map((r) => `<tr>${cols.map((c) => `<td${cls(c)}>${escapeHtml(cellText(c, r[c.key]))}</td>`).join('')}</tr>`).join('\n');
  return `<div class="table"><table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}
