// Parsing of /proc/net/{tcp,tcp6,udp,udp6}: hex addresses in host byte order, state, uid, inode.
import { endianness } from 'node:os';
import { listPids, readText, socketInodes } from './procfs.ts';

export type Proto = 'tcp' | 'tcp6' | 'udp' | 'udp6';
export const PROTOS: readonly Proto[] = ['tcp', 'tcp6', 'udp', 'udp6'];

export interface SocketRow {
  proto: Proto;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** Kernel state, hex as in the file: 0A = LISTEN, 01 = ESTABLISHED, 02 = SYN_SENT; UDP uses 07 (CLOSE) unconnected. */
  state: string;
  uid: number;
  inode: number;
}

export const TCP_LISTEN = '0A';
export const TCP_ESTABLISHED = '01';
export const TCP_SYN_SENT = '02';

const LE = endianness() === 'LE';

export function decodeAddress(hex: string, littleEndian = LE): string {
  const words: number[][] = [];
  for (let i = 0; i < hex.length; i += 8) {
    const b = [0, 2, 4, 6].map((k) => parseInt(hex.slice(i + k, i + k + 2), 16));
    words.push(littleEndian ? b.reverse() : b);
  }
  const bytes = words.flat();
  if (bytes.length === 4) return bytes.join('.');
  return formatIPv6(bytes);
}

/** RFC 5952 text form of 16 bytes; IPv4-mapped addresses as ::ffff:a.b.c.d. */
export function formatIPv6(bytes: number[]): string {
  const isMapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (isMapped) return `::ffff:${bytes.slice(12).join('.')}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Parses the text of one /proc/net/{tcp,tcp6,udp,udp6} file (header line skipped). */
export function parseSocketTable(proto: Proto, text: string, littleEndian = LE): SocketRow[] {
  const rows: SocketRow[] = [];
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i].trim().split(/\s+/);
    if (f.length < 10) continue;
    const [la, lp] = f[1].split(':');
    const [ra, rp] = f[2].split(':');
    if (!la || !lp || !ra || !rp) continue;
    rows.push({
      proto,
      localAddress: decodeAddress(la, littleEndian), localPort: parseInt(lp, 16),
      remoteAddress: decodeAddress(ra, littleEndian), remotePort: parseInt(rp, 16),
      state: f[3].toUpperCase(), uid: Number(f[7]), inode: Number(f[9]),
    });
  }
  return rows;
}

/** All sockets of the network namespace seen from `<procRoot>/<pid>/net` (default: our own, /proc/net). */
export function readSockets(procRoot: string, netDir = `${procRoot}/net`): SocketRow[] {
  const out: SocketRow[] = [];
  for (const p of PROTOS) {
    const t = readText(`${netDir}/${p}`);
    if (t !== null) out.push(...parseSocketTable(p, t));
  }
  return out;
}

/** TCP in LISTEN; UDP bound to a port with no remote peer (an unconnected socket is a UDP server). */
export function isListening(r: SocketRow): boolean {
  if (r.proto === 'tcp' || r.proto === 'tcp6') return r.state === TCP_LISTEN;
  return r.localPort !== 0 && r.remotePort === 0 && /^(0\.0\.0\.0|::)$/.test(r.remoteAddress);
}

export interface Listener {
  proto: Proto;
  address: string;
  port: number;
  inode: number;
  uid: number;
  /** null when the owning process could not be identified (no rights to read its fds). */
  pid: number | null;
  comm: string | null;
  cmdline: string | null;
}

export function listenerKey(l: { proto: string; address: string; port: number }): string {
  return `${l.proto}|${l.address}|${l.port}`;
}

/**
 * Maps socket inodes to the pid holding them by reading /proc/[pid]/fd of every visible process.
 * Only done for `wanted` inodes, and the scan stops once all are found (bounded work).
 */
export function ownersOf(procRoot: string, wanted: Set<number>): Map<number, number> {
  const owner = new Map<number, number>();
  if (wanted.size === 0) return owner;
  for (const pid of listPids(procRoot)) {
    const inodes = socketInodes(procRoot, pid);
    if (!inodes) continue;
    for (const ino of inodes) if (wanted.has(ino) && !owner.has(ino)) owner.set(ino, pid);
    if (owner.size === wanted.size) break;
  }
  return owner;
}
