/** Formatting every console page shares: instants in UTC and byte counts. */

/** An instant as `YYYY-MM-DD HH:MM:SS UTC`; '—' for none. */
export const utc = (t: string | Date | null | undefined): string =>
  (t ? new Date(t).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : '—');

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
