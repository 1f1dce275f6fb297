/**
 * Minimal HTML templating for the staff console: a tagged template that escapes every interpolated value unless it
 * is already `Html` (built by this tag or by `raw`). Arrays are joined; null/undefined/false render as nothing.
 */
export class Html {
  readonly value: string;
  constructor(value: string) { this.value = value; }
  toString(): string { return this.value; }
}

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export function escapeHtml(s: string): string { return s.replace(/[&<>"']/g, (c) => ESC[c]!); }

function render(v: unknown): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new Html(out);
}

/** Trusted markup, used only for constants built in this module's callers. */
export function raw(s: string): Html { return new Html(s); }
