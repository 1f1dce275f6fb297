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

/**
 * Strings (whole lines) written into one reused buffer that is handed on whenever the next line would not fit: a
 * chunk is valid until the next one is asked for (the job's file writers copy or consume it before that, as their
 * contract allows; collect copies, as `fileBytes` does). Cut only between lines, so the bytes are those of the
 * joined text in UTF-8. Chunks of about `size` bytes; a longer line gets a buffer of its own size.
 */
export function* lineChunks(lines: Iterable<string>, size = 64 << 10): Generator<Buffer> {
  let buf = Buffer.allocUnsafe(size), pos = 0;
  for (const line of lines) {
    const n = Buffer.byteLength(line);
    if (pos + n > buf.length) {
      if (pos) yield buf.subarray(0, pos);
      pos = 0;
      if (n > buf.length) buf = Buffer.allocUnsafe(n);
    }
    pos += buf.write(line, pos);
  }
  if (pos) yield buf.subarray(0, pos);
}
