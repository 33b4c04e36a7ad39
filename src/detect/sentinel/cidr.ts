// CIDR allow-lists for outbound connections: IPv4 and IPv6, IPv4-mapped IPv6 addresses matched as IPv4.
import { isIP } from 'node:net';

interface Cidr { bytes: number[]; bits: number }

function ipv4Bytes(s: string): number[] { return s.split('.').map(Number); }

/** 4 bytes for IPv4 (and for ::ffff:a.b.c.d), 16 for IPv6, null when not an address. */
export function addressBytes(addr: string): number[] | null {
  const a = addr.startsWith('::ffff:') && isIP(addr.slice(7)) === 4 ? addr.slice(7) : addr;
  const kind = isIP(a);
  if (kind === 4) return ipv4Bytes(a);
  if (kind !== 6) return null;
  let s = a;
  const tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) { tail.push(...ipv4Bytes(v4[1])); s = s.slice(0, -v4[1].length) + '0:0'; }
  const [head, rest] = s.split('::');
  const h = head ? head.split(':') : [];
  const r = rest !== undefined ? (rest ? rest.split(':') : []) : [];
  const groups = rest !== undefined ? [...h, ...Array(8 - h.length - r.length).fill('0'), ...r] : h;
  const bytes = groups.flatMap((g) => { const n = parseInt(g, 16); return [n >> 8, n & 255]; });
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes;
}

export function parseCidr(s: string): Cidr {
  const [addr, bitsText] = s.trim().split('/');
  const bytes = addressBytes(addr);
  if (!bytes) throw new Error(`not a CIDR: ${s}`);
  const bits = bitsText === undefined ? bytes.length * 8 : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > bytes.length * 8) throw new Error(`not a CIDR: ${s}`);
  return { bytes, bits };
}

export function inCidr(addr: string, c: Cidr): boolean {
  const b = addressBytes(addr);
  if (!b || b.length !== c.bytes.length) return false;
  let left = c.bits;
  for (let i = 0; left > 0; i++, left -= 8) {
    const mask = left >= 8 ? 0xff : (0xff << (8 - left)) & 0xff;
    if ((b[i] & mask) !== (c.bytes[i] & mask)) return false;
  }
  return true;
}

export class CidrList {
  private readonly list: Cidr[];
  constructor(cidrs: readonly string[]) { this.list = cidrs.map(parseCidr); }
  has(addr: string): boolean { return this.list.some((c) => inCidr(addr, c)); }
}

export function isLoopback(addr: string): boolean {
  return addr === '::1' || /^(::ffff:)?127\./.test(addr);
}
