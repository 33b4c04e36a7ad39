// Probe: outbound connections of the server process. Its sockets are those of <proc>/<pid>/net/tcp{,6}
// whose inode is one of its own fds; a connection is outbound when in ESTABLISHED or SYN_SENT and its local
// port is not one the process listens on (accepted client connections are inbound). Remotes outside the
// allow-list alert; loopback remotes are ignored unless configured.
import { socketInodes } from './procfs.ts';
import { readSockets, TCP_ESTABLISHED, TCP_LISTEN, TCP_SYN_SENT, type SocketRow } from './net.ts';
import { CidrList, isLoopback } from './cidr.ts';

export interface OutboundOptions {
  /** The process watched (the server itself by default). */
  pid: number;
  allow: readonly string[];
  includeLoopback: boolean;
}

export interface OutboundConn { proto: string; local: string; localPort: number; remote: string; remotePort: number; state: 'established' | 'syn-sent' }

export class OutboundProbe {
  private readonly allow: CidrList;
  last: OutboundConn[] = [];

  get pid(): number { return this.opts.pid; }

  constructor(private readonly opts: OutboundOptions, private readonly procRoot = '/proc') {
    this.allow = new CidrList(opts.allow);
  }

  /** Outbound connections of the process, all of them (allowed or not); null if its fds are unreadable. */
  /** `rows`: the socket tables when the caller already read them in the same network namespace. */
  connections(rows?: SocketRow[]): OutboundConn[] | null {
    const mine = socketInodes(this.procRoot, this.opts.pid);
    if (!mine) return null;
    const all = rows ?? readSockets(this.procRoot, `${this.procRoot}/${this.opts.pid}/net`);
    const tcp = all.filter((r) => r.proto === 'tcp' || r.proto === 'tcp6');
    const ownRows = tcp.filter((r) => mine.has(r.inode));
    const listenPorts = new Set(ownRows.filter((r) => r.state === TCP_LISTEN).map((r) => r.localPort));
    const out: OutboundConn[] = [];
    for (const r of ownRows) {
      if (r.state !== TCP_ESTABLISHED && r.state !== TCP_SYN_SENT) continue;
      if (listenPorts.has(r.localPort)) continue;
      out.push({ proto: r.proto, local: r.localAddress, localPort: r.localPort, remote: r.remoteAddress, remotePort: r.remotePort, state: r.state === TCP_SYN_SENT ? 'syn-sent' : 'established' });
    }
    this.last = out;
    return out;
  }

  /** Connections to remotes outside the allow-list. */
  check(rows?: SocketRow[]): OutboundConn[] {
    const conns = this.connections(rows) ?? [];
    return conns.filter((c) => !(isLoopback(c.remote) && !this.opts.includeLoopback) && !this.allow.has(c.remote));
  }
}
