// A local fake of Vault/OpenBao's Transit secrets engine: the documented endpoints Cerbère uses
// (encrypt, decrypt, rewrap, keys create/read/rotate, sys/health), token auth, real AES-256-GCM
// per key version, ciphertexts "vault:v<N>:<base64(nonce ‖ ciphertext ‖ tag)>". Counts decrypts.
import { createServer, type Server } from 'node:http';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';

interface TransitKey { versions: Buffer[]; minDecryption: number }

export class FakeVault {
  readonly token = 'hvs.test-' + randomBytes(8).toString('hex');
  readonly keys = new Map<string, TransitKey>();
  decrypts = 0;
  requests: string[] = [];
  /** When true, every request answers 503 (sealed / unreachable). */
  down = false;
  private server: Server | null = null;
  url = '';

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        const send = (status: number, obj?: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(obj === undefined ? '' : JSON.stringify(obj));
        };
        try {
          this.handle(req.method ?? 'GET', req.url ?? '/', req.headers['x-vault-token'], body, send);
        } catch {
          send(400, { errors: ['bad request'] });
        }
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
    this.server = null;
  }

  private handle(method: string, url: string, token: unknown, body: string, send: (s: number, o?: unknown) => void): void {
    this.requests.push(`${method} ${url}`);
    if (this.down) return send(503, { errors: ['Vault is sealed'] });
    if (url === '/v1/sys/health') return send(200, { initialized: true, sealed: false, standby: false });
    if (token !== this.token) return send(403, { errors: ['permission denied'] });
    const m = /^\/v1\/transit\/(encrypt|decrypt|rewrap|keys)\/([A-Za-z0-9_-]+)(\/rotate)?$/.exec(url);
    if (!m) return send(404, { errors: [] });
    const [, op, name, rotate] = m;
    const req = body ? JSON.parse(body) : {};
    const key = this.keys.get(name);
    if (op === 'keys') {
      if (rotate) {
        if (method !== 'POST' || !key) return send(404, { errors: [] });
        key.versions.push(randomBytes(32));
        return send(200, { data: this.info(name, key) });
      }
      if (method === 'POST') {
        if (!key) this.keys.set(name, { versions: [randomBytes(32)], minDecryption: 1 });
        return send(204);
      }
      if (!key) return send(404, { errors: [] });
      return send(200, { data: this.info(name, key) });
    }
    if (!key) return send(400, { errors: ['encryption key not found'] });
    if (op === 'encrypt') return send(200, { data: this.encrypt(key, Buffer.from(req.plaintext, 'base64')) });
    const parsed = /^vault:v(\d+):([A-Za-z0-9+/=]+)$/.exec(String(req.ciphertext ?? ''));
    if (!parsed) return send(400, { errors: ['invalid ciphertext'] });
    const v = Number(parsed[1]);
    if (v < key.minDecryption || v > key.versions.length) return send(400, { errors: ['invalid key version'] });
    const raw = Buffer.from(parsed[2], 'base64');
    let plain: Buffer;
    try {
      const d = createDecipheriv('aes-256-gcm', key.versions[v - 1], raw.subarray(0, 12), { authTagLength: 16 });
      d.setAuthTag(raw.subarray(-16));
      plain = Buffer.concat([d.update(raw.subarray(12, -16)), d.final()]);
    } catch {
      return send(400, { errors: ['cipher: message authentication failed'] });
    }
    if (op === 'decrypt') { this.decrypts++; return send(200, { data: { plaintext: plain.toString('base64') } }); }
    return send(200, { data: this.encrypt(key, plain) }); // rewrap
  }

  private encrypt(key: TransitKey, plain: Buffer) {
    const v = key.versions.length;
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', key.versions[v - 1], nonce, { authTagLength: 16 });
    const ct = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
    return { ciphertext: `vault:v${v}:${Buffer.concat([nonce, ct]).toString('base64')}`, key_version: v };
  }

  private info(name: string, key: TransitKey) {
    return {
      name, type: 'aes256-gcm96', latest_version: key.versions.length, min_decryption_version: key.minDecryption,
      keys: Object.fromEntries(key.versions.map((_, i) => [String(i + 1), 1700000000 + i])), exportable: false, deletion_allowed: false,
    };
  }
}
