// Probe: listening sockets (TCP LISTEN, unconnected bound UDP) with the process that holds each one.
import { readCmdline, readComm, readStat } from './procfs.ts';
import { isListening, ownersOf, readSockets, type Listener, type SocketRow } from './net.ts';

interface Owner { pid: number | null; comm: string | null; cmdline: string | null; starttime: number | null }

export class ListenerProbe {
  /** inode → owner; an inode is stable for the life of the socket, so the fd scan runs only for new ones. */
  private readonly owners = new Map<number, Owner>();

  constructor(private readonly procRoot = '/proc') {}

  /** Current listeners. `rows` may be passed when the caller already read the socket tables. */
  scan(rows: SocketRow[] = readSockets(this.procRoot)): Listener[] {
    const listening = rows.filter(isListening);
    const live = new Set(listening.map((r) => r.inode));
    for (const ino of this.owners.keys()) if (!live.has(ino)) this.owners.delete(ino);
    // A cached owner whose process is gone (or whose pid was reused) is looked up again.
    for (const [ino, o] of this.owners) {
      if (o.pid !== null && readStat(this.procRoot, o.pid)?.starttime !== o.starttime) this.owners.delete(ino);
    }
    const unknown = new Set([...live].filter((ino) => ino !== 0 && !this.owners.has(ino)));
    if (unknown.size > 0) {
      const found = ownersOf(this.procRoot, unknown);
      for (const ino of unknown) {
        const pid = found.get(ino) ?? null;
        this.owners.set(ino, pid === null
          ? { pid: null, comm: null, cmdline: null, starttime: null }
          : { pid, comm: readComm(this.procRoot, pid), cmdline: readCmdline(this.procRoot, pid), starttime: readStat(this.procRoot, pid)?.starttime ?? null });
      }
    }
    return listening.map((r) => {
      const o = this.owners.get(r.inode) ?? { pid: null, comm: null, cmdline: null };
      return { proto: r.proto, address: r.localAddress, port: r.localPort, inode: r.inode, uid: r.uid, pid: o.pid, comm: o.comm, cmdline: o.cmdline };
    });
  }
}

/** Text naming a listener for a person: "udp 0.0.0.0:3074 by pid 4242 (node)". */
export function describeListener(l: Listener): string {
  const addr = l.address.includes(':') ? `[${l.address}]` : l.address;
  const who = l.pid !== null ? `pid ${l.pid} (${l.comm ?? '?'}), uid ${l.uid}`
    : l.inode === 0 ? 'a kernel socket (no owning process)'
      : `owner unknown (uid ${l.uid}; no rights to read its process's fds)`;
  return `${l.proto} ${addr}:${l.port}, ${who}`;
}
