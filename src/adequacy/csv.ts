/**
 * CSV cells and lines as the report files write them (RFC 4180 quoting only where a cell needs it; `\n` line ends).
 * One definition, so the fast HSD table writer (hsd-tables.ts: bytes straight into chunk buffers) and the plain
 * line-by-line writers produce the same bytes.
 */
export type CsvValue = string | number | boolean | null;

export function csvCell(v: CsvValue): string {
  const s = v === null ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(cells: CsvValue[]): string { return cells.map(csvCell).join(',') + '\n'; }
