import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash, generateKeyPairSync } from 'node:crypto';
import {
  NoteError, formatCheckpoint, generateSigningKey, keyId, makeVerifier, openCheckpoint, openNote, parseCheckpoint,
  parseSignerKey, parseVerifierKey, rawPublicKey, signNote, signerKeyString, signingKeyFromSeed, verifierKeyString,
  verifyEd25519,
} from '../../../src/audit/log/note.ts';
import { EMPTY_ROOT, leafHash } from '../../../src/audit/merkle/merkle.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const wycheproof = path.resolve(repoRoot, '..', 'shared', 'testvectors', 'wycheproof', 'ed25519_test.json');

const TESSERA_KEY = 'example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx';

function rejects(fn: () => unknown, code: NoteError['code']): void {
  assert.throws(fn, (e: unknown) => e instanceof NoteError && e.code === code);
}

test('RFC 8032 test 1: key from seed, signature, verification', () => {
  const seed = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex');
  const pub = Buffer.from('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 'hex');
  const sig = Buffer.from('e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b', 'hex');
  const key = signingKeyFromSeed(seed);
  assert.deepEqual(rawPublicKey(key), pub);
  assert.equal(verifyEd25519(pub, Buffer.alloc(0), sig), true);
  assert.equal(verifyEd25519(pub, Buffer.from('x'), sig), false);
});

test('key ID and verifier key strings', () => {
  const { seed, publicKey, privateKey } = generateSigningKey();
  assert.equal(seed.length, 32);
  assert.deepEqual(rawPublicKey(signingKeyFromSeed(seed)), publicKey);
  assert.deepEqual(rawPublicKey(privateKey), publicKey);
  const name = 'cerbere.example/tenant/42';
  const want = createHash('sha256').update(Buffer.concat([Buffer.from(name), Buffer.from([0x0a, 0x01]), publicKey])).digest().subarray(0, 4);
  assert.deepEqual(keyId(name, publicKey), want);
  const vkey = verifierKeyString(name, publicKey);
  assert.match(vkey, /^cerbere\.example\/tenant\/42\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/);
  const v = parseVerifierKey(vkey);
  assert.equal(v.name, name);
  assert.deepEqual(v.publicKey, publicKey);
  assert.deepEqual(v.keyId, want);

  // The Tessera key's base64 contains '+': only the first two '+' separate fields.
  const t = parseVerifierKey(TESSERA_KEY);
  assert.equal(t.name, 'example.com/log/testdata');
  assert.equal(t.keyId.toString('hex'), '33d7b496');
  assert.equal(verifierKeyString(t.name, t.publicKey), TESSERA_KEY);

  rejects(() => parseVerifierKey('example.com/log/testdata+33d7b497+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx'), 'bad-key');
  rejects(() => parseVerifierKey('example.com/log/testdata+33d7b496+AuHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx'), 'bad-key');
  rejects(() => parseVerifierKey('example.com/log/testdata+33d7b496'), 'bad-key');
  rejects(() => parseVerifierKey('+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx'), 'bad-key');
  rejects(() => parseVerifierKey('example.com/log/testdata+33d7b4+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx'), 'bad-key');
  rejects(() => parseVerifierKey('example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkk'), 'bad-key');
  rejects(() => verifierKeyString('bad name', publicKey), 'bad-key');
  rejects(() => verifierKeyString('a+b', publicKey), 'bad-key');

  const skey = signerKeyString(name, seed);
  assert.ok(skey.startsWith(`PRIVATE+KEY+${name}+`));
  const parsed = parseSignerKey(skey);
  assert.deepEqual(parsed.seed, seed);
  assert.deepEqual(parsed.verifier.publicKey, publicKey);
});

test('a checkpoint we sign verifies with our verifier key string; tampering fails', () => {
  const { privateKey, publicKey } = generateSigningKey();
  const origin = 'cerbere.example/audit/tenant-7';
  const root = leafHash(Buffer.from('hello'));
  const body = formatCheckpoint({ origin, size: 1234, rootHash: root });
  assert.equal(body, `${origin}\n1234\n${root.toString('base64')}\n`);
  const note = signNote(body, origin, privateKey);
  const lines = note.split('\n');
  assert.equal(lines[3], '');
  assert.match(lines[4], /^\u2014 cerbere\.example\/audit\/tenant-7 [A-Za-z0-9+/]{91}=$/);
  assert.equal(Buffer.from(lines[4].split(' ')[2], 'base64').length, 68);

  const verifier = parseVerifierKey(verifierKeyString(origin, publicKey));
  const opened = openNote(note, [verifier]);
  assert.equal(opened.text, body);
  assert.equal(opened.signatures.length, 1);
  const cp = openCheckpoint(Buffer.from(note), verifier, origin);
  assert.equal(cp.size, 1234);
  assert.deepEqual(cp.rootHash, root);
  assert.deepEqual(cp.extensions, []);
  rejects(() => openCheckpoint(note, verifier, 'other.example/log'), 'malformed');

  // A changed body, a changed signature, or a signature by a different key of the same name fail.
  rejects(() => openNote(note.replace('\n1234\n', '\n1235\n'), verifier), 'invalid-signature');
  const sigAt = note.lastIndexOf(' ') + 1;
  const raw = Buffer.from(note.slice(sigAt, -1), 'base64');
  raw[10] ^= 0x01;
  rejects(() => openNote(note.slice(0, sigAt) + raw.toString('base64') + '\n', verifier), 'invalid-signature');
  const other = generateSigningKey();
  rejects(() => openNote(signNote(body, origin, other.privateKey), verifier), 'unverified');
  // Unknown signers are ignored; one known signature is enough.
  const witnessed = note + signNote(body, 'witness.example', other.privateKey).split('\n\n')[1];
  const w = openNote(witnessed, [verifier]);
  assert.equal(w.signatures.length, 1);
  assert.equal(w.unverified.length, 1);
  assert.equal(w.unverified[0].name, 'witness.example');
  const both = openNote(witnessed, [verifier, makeVerifier('witness.example', other.publicKey)]);
  assert.equal(both.signatures.length, 2);
  rejects(() => openNote(witnessed, []), 'unverified');

  // Extension lines.
  const ext = formatCheckpoint({ origin, size: 0, rootHash: EMPTY_ROOT, extensions: ['foo bar'] });
  assert.deepEqual(parseCheckpoint(ext).extensions, ['foo bar']);
  rejects(() => formatCheckpoint({ origin, size: 0, rootHash: EMPTY_ROOT, extensions: [''] }), 'malformed');
  rejects(() => formatCheckpoint({ origin: '', size: 0, rootHash: EMPTY_ROOT }), 'malformed');
  rejects(() => formatCheckpoint({ origin, size: -1, rootHash: EMPTY_ROOT }), 'malformed');
  rejects(() => formatCheckpoint({ origin, size: 1, rootHash: Buffer.alloc(31) }), 'malformed');
  rejects(() => signNote('no final newline', origin, privateKey), 'malformed');
  rejects(() => signNote('tab\there\n', origin, privateKey), 'malformed');
  rejects(() => signNote(body, origin, generateKeyPairSync('ed448').privateKey), 'bad-key');
});

test('malformed notes are rejected', () => {
  const { privateKey, publicKey } = generateSigningKey();
  const v = makeVerifier('log.example', publicKey);
  const body = formatCheckpoint({ origin: 'log.example', size: 3, rootHash: EMPTY_ROOT });
  const note = signNote(body, 'log.example', privateKey);
  assert.equal(openNote(note, v).text, body);
  const sigLine = note.split('\n\n')[1];
  const cases: Record<string, string> = {
    'no blank line': note.replace('\n\n', '\n'),
    'no final newline': note.slice(0, -1),
    'no signature lines': `${body}\n`,
    'hyphen for em dash': note.replace('\u2014', '-'),
    'no space after dash': note.replace('\u2014 ', '\u2014'),
    'carriage return': note.replace('log.example\n3', 'log.example\r\n3'),
    'NUL byte': note.replace('3\n', '3\u0000\n'),
    'bad base64': note.replace(/ (\S+)\n$/, ' $1!\n'),
    'unpadded base64': note.replace(/=+\n$/, '\n'),
    'short signature': `${body}\n\u2014 log.example AAAA\n`,
    'trailing blank line': `${note}\n`,
    'too many signatures': `${body}\n${sigLine.repeat(101)}`,
    'lone surrogate': note.replace('log.example\n3', 'log.example\ud800\n3'),
  };
  for (const [what, text] of Object.entries(cases)) {
    assert.throws(() => openNote(text, v), NoteError, what);
  }
  assert.throws(() => openNote(Buffer.from([0xff, 0x0a, 0x0a]), v), NoteError);
  // 16 signatures (the spec's minimum) are fine.
  assert.equal(openNote(`${body}\n${sigLine.repeat(16)}`, v).signatures.length, 16);
});

test('checkpoint bodies are parsed strictly', () => {
  const r = EMPTY_ROOT.toString('base64');
  assert.equal(parseCheckpoint(`o\n0\n${r}\n`).size, 0);
  assert.equal(parseCheckpoint(`o\n9007199254740991\n${r}\n`).size, Number.MAX_SAFE_INTEGER);
  const bad = [
    `o\n0\n${r}`, `o\n01\n${r}\n`, `o\n-1\n${r}\n`, `o\n+1\n${r}\n`, `o\n1.0\n${r}\n`, `o\n9007199254740992\n${r}\n`,
    `\n1\n${r}\n`, `o\n1\n`, `o\n1\n${r.slice(0, -1)}\n`, `o\n1\n${Buffer.alloc(31).toString('base64')}\n`,
    `o\n1\n${r}\n\n`, `o\n1\n${r}\next\n\n`,
  ];
  for (const b of bad) assert.throws(() => parseCheckpoint(b), NoteError, JSON.stringify(b));
});

if (!existsSync(wycheproof)) {
  test('Wycheproof Ed25519', { skip: `test vectors absent (${wycheproof})` }, () => {});
} else {
  test('Wycheproof Ed25519 through verifyEd25519 and a note verifier', () => {
    const doc = JSON.parse(readFileSync(wycheproof, 'utf8')) as {
      testGroups: { publicKey: { pk: string }; tests: { tcId: number; msg: string; sig: string; result: string; flags: string[] }[] }[];
    };
    const failures: string[] = [];
    let n = 0;
    for (const g of doc.testGroups) {
      const pk = Buffer.from(g.publicKey.pk, 'hex');
      const v = makeVerifier('wycheproof.example', pk);
      for (const t of g.tests) {
        n++;
        const msg = Buffer.from(t.msg, 'hex');
        const sig = Buffer.from(t.sig, 'hex');
        let got: boolean;
        let viaVerifier: boolean;
        try {
          got = verifyEd25519(pk, msg, sig);
          viaVerifier = v.verify(msg, sig);
        } catch (e) {
          failures.push(`tc ${t.tcId}: threw ${(e as Error).message}`);
          continue;
        }
        if (t.result === 'acceptable') continue;
        const want = t.result === 'valid';
        if (got !== want || viaVerifier !== want) failures.push(`tc ${t.tcId} [${t.flags}]: got ${got}/${viaVerifier}, want ${want}`);
      }
    }
    assert.deepEqual(failures, []);
    assert.ok(n >= 150);
    // Keys that are not 32 bytes are a false, not a throw.
    assert.equal(verifyEd25519(Buffer.alloc(31), Buffer.alloc(0), Buffer.alloc(64)), false);
  });
}
