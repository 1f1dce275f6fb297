/**
 * What an anonymous caller's row keeps of their address: a keyed hash of the network prefix (/24 for IPv4, /48 for
 * IPv6). The key is random per UTC day and lives only in this process's memory, so a day's hashes can be correlated
 * with each other (abuse handling) but never reversed or linked to another day once the key is gone — not even by
 * someone holding the database and the configuration. (Several instances each have their own key; see ADR 0004.)
 */
import { createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import net from 'node:net';

/** The network prefix of an address: a.b.c.0/24 or the first three groups of an IPv6 address /48. */
export function networkPrefix(address: string | undefined): string | undefined {
  if (!address) return undefined;
  let a = address.trim();
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(a);
  if (mapped) a = mapped[1];
  if (net.isIPv4(a)) return `${a.split('.').slice(0, 3).join('.')}.0/24`;
  if (!net.isIPv6(a)) return undefined;
  const groups = expandIPv6(a);
  return `${groups.slice(0, 3).join(':')}::/48`;
}

function expandIPv6(a: string): string[] {
  let s = a.toLowerCase();
  // an embedded IPv4 tail (e.g. 64:ff9b::1.2.3.4) becomes two groups
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (v4) {
    const [b1, b2, b3, b4] = v4.slice(1).map(Number);
    s = s.slice(0, v4.index) + `${((b1 << 8) | b2).toString(16)}:${((b3 << 8) | b4).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => parseInt(g || '0', 16).toString(16));
}

export class NetworkHasher {
  #day = -1;
  #key: KeyObject | undefined;
  /** Today's hashes by prefix (a busy service sees few prefixes; bounded, and dropped with the key at midnight). */
  #cache = new Map<string, string>();
  readonly #now: () => Date;
  constructor(now: () => Date = () => new Date()) { this.#now = now; }

  /** `v4:`/`v6:` and 16 hex digits of HMAC-SHA256(today's key, prefix); undefined if the address is not an IP. */
  hash(address: string | undefined): string | undefined {
    const day = Math.floor(this.#now().getTime() / 86_400_000); // the UTC day
    if (day !== this.#day || !this.#key) {
      const raw = randomBytes(32);
      this.#key = createSecretKey(raw);
      raw.fill(0);
      this.#day = day;
      this.#cache.clear();
    }
    if (!address) return undefined;
    const hit = this.#cache.get(address);
    if (hit !== undefined) return hit;
    const prefix = networkPrefix(address);
    if (!prefix) return undefined;
    const h = `${prefix.includes(':') ? 'v6' : 'v4'}:${createHmac('sha256', this.#key).update(prefix).digest('hex').slice(0, 16)}`;
    if (this.#cache.size >= 10_000) this.#cache.clear();
    this.#cache.set(address, h);
    return h;
  }
}
