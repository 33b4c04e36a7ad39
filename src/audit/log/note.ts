// C2SP signed-note (Ed25519, signature type 0x01) and tlog-checkpoint bodies.
//
//   <origin>\n<size>\n<base64 root>\n[<extension>\n…]      ← note text (the signed bytes)
//   \n
//   — <key name> <base64(4-byte key ID ‖ 64-byte signature)>\n   ← one line per signature
import {
  createHash, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject,
} from 'node:crypto';
import { HASH_SIZE } from '../merkle/merkle.ts';
import { ed25519FromSeed } from '../../vault/signing-key.ts';

const ED25519_TYPE = 0x01;
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SIG_PREFIX = '\u2014 '; // em dash, space
/** Notes with more signature lines are rejected (the spec asks for at least 16). */
export const MAX_SIGNATURES = 100;

export class NoteError extends Error {
  constructor(readonly code: 'malformed' | 'unverified' | 'invalid-signature' | 'bad-key', message: string) {
    super(message);
    this.name = 'NoteError';
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding helpers

/** Canonical standard base64 only (padding present, no stray characters, zero pad bits). */
function decodeBase64Strict(s: string): Buffer | null {
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return null;
  const b = Buffer.from(s, 'base64');
  return b.toString('base64') === s ? b : null;
}

/** Non-empty, no Unicode spaces, no plus sign, no control characters. */
export function isValidKeyName(name: string): boolean {
  return typeof name === 'string' && name.length > 0 && !/[\s+\p{Cc}]/u.test(name) && isWellFormed(name);
}

function isWellFormed(s: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

/** True if s holds an ASCII control character other than newline. */
function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) return true;
  }
  return false;
}

/** Valid note text: ends with a newline, UTF-8 representable, no control characters but newline. */
function isValidText(s: string): boolean {
  return s.endsWith('\n') && isWellFormed(s) && !hasControl(s);
}

// ---------------------------------------------------------------------------------------------
// Keys

/** SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]. */
export function keyId(name: string, publicKeyRaw: Uint8Array): Buffer {
  return createHash('sha256').update(name, 'utf8').update(Buffer.from([0x0a, ED25519_TYPE])).update(publicKeyRaw)
    .digest().subarray(0, 4);
}

export function publicKeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new NoteError('bad-key', 'an Ed25519 public key is 32 bytes');
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** The 32-byte public key of an Ed25519 KeyObject (public or private). */
export function rawPublicKey(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  if (pub.asymmetricKeyType !== 'ed25519') throw new NoteError('bad-key', 'not an Ed25519 key');
  return pub.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
}

/** Private KeyObject from the 32-byte RFC 8032 seed. */
export function signingKeyFromSeed(seed: Uint8Array): KeyObject {
  if (seed.length !== 32) throw new NoteError('bad-key', 'an Ed25519 seed is 32 bytes');
  return ed25519FromSeed(seed);
}

export interface SigningKey {
  /** 32-byte seed: the secret to store. */
  seed: Buffer;
  publicKey: Buffer;
  privateKey: KeyObject;
}

export function generateSigningKey(): SigningKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length);
  return { seed: Buffer.from(seed), publicKey: rawPublicKey(privateKey), privateKey };
}

/** Ed25519 verification over raw bytes; false (never a throw) for any bad key or signature. */
export function verifyEd25519(publicKeyRaw: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (publicKeyRaw.length !== 32 || signature.length !== 64) return false;
    return verify(null, message, publicKeyFromRaw(publicKeyRaw), signature);
  } catch {
    return false;
  }
}

export interface NoteVerifier {
  readonly name: string;
  /** 4 bytes. */
  readonly keyId: Buffer;
  readonly publicKey: Buffer;
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

export function makeVerifier(name: string, publicKeyRaw: Uint8Array): NoteVerifier {
  if (!isValidKeyName(name)) throw new NoteError('bad-key', `invalid key name ${JSON.stringify(name)}`);
  const key = publicKeyFromRaw(publicKeyRaw);
  return {
    name,
    keyId: keyId(name, publicKeyRaw),
    publicKey: Buffer.from(publicKeyRaw),
    verify(message, signature) {
      try {
        return signature.length === 64 && verify(null, message, key, signature);
      } catch {
        return false;
      }
    },
  };
}

/** `name+hexkeyid+base64(0x01 ‖ pubkey)`. */
export function verifierKeyString(name: string, publicKeyRaw: Uint8Array): string {
  if (!isValidKeyName(name)) throw new NoteError('bad-key', `invalid key name ${JSON.stringify(name)}`);
  if (publicKeyRaw.length !== 32) throw new NoteError('bad-key', 'an Ed25519 public key is 32 bytes');
  const id = keyId(name, publicKeyRaw).toString('hex');
  return `${name}+${id}+${Buffer.concat([Buffer.from([ED25519_TYPE]), publicKeyRaw]).toString('base64')}`;
}

/** Parses a verifier key string; the key ID must match the name and key. */
export function parseVerifierKey(s: string): NoteVerifier {
  const i = s.indexOf('+');
  const j = i < 0 ? -1 : s.indexOf('+', i + 1);
  if (i < 0 || j < 0) throw new NoteError('bad-key', 'verifier key: expected name+keyid+key');
  const name = s.slice(0, i);
  const idHex = s.slice(i + 1, j);
  const key = decodeBase64Strict(s.slice(j + 1));
  if (!isValidKeyName(name)) throw new NoteError('bad-key', 'verifier key: invalid name');
  if (!/^[0-9a-fA-F]{8}$/.test(idHex)) throw new NoteError('bad-key', 'verifier key: key ID is not 8 hex digits');
  if (!key || key.length === 0) throw new NoteError('bad-key', 'verifier key: bad base64');
  if (key[0] !== ED25519_TYPE) throw new NoteError('bad-key', `verifier key: unsupported signature type 0x${key[0].toString(16)}`);
  if (key.length !== 33) throw new NoteError('bad-key', 'verifier key: Ed25519 key must be 32 bytes');
  const pub = key.subarray(1);
  if (keyId(name, pub).toString('hex') !== idHex.toLowerCase()) {
    throw new NoteError('bad-key', 'verifier key: key ID does not match name and key');
  }
  return makeVerifier(name, pub);
}

/** `PRIVATE+KEY+name+hexkeyid+base64(0x01 ‖ seed)`, the Go note signer-key format, for configuration. */
export function signerKeyString(name: string, seed: Uint8Array): string {
  if (!isValidKeyName(name)) throw new NoteError('bad-key', `invalid key name ${JSON.stringify(name)}`);
  const id = keyId(name, rawPublicKey(signingKeyFromSeed(seed))).toString('hex');
  return `PRIVATE+KEY+${name}+${id}+${Buffer.concat([Buffer.from([ED25519_TYPE]), seed]).toString('base64')}`;
}

export function parseSignerKey(s: string): { name: string; seed: Buffer; privateKey: KeyObject; verifier: NoteVerifier } {
  const m = /^PRIVATE\+KEY\+([^+]+)\+([0-9a-fA-F]{8})\+(.+)$/s.exec(s);
  const raw = m ? decodeBase64Strict(m[3]) : null;
  if (!m || !raw || raw.length !== 33 || raw[0] !== ED25519_TYPE || !isValidKeyName(m[1])) {
    throw new NoteError('bad-key', 'signer key: malformed');
  }
  const seed = Buffer.from(raw.subarray(1));
  const privateKey = signingKeyFromSeed(seed);
  const verifier = makeVerifier(m[1], rawPublicKey(privateKey));
  if (verifier.keyId.toString('hex') !== m[2].toLowerCase()) throw new NoteError('bad-key', 'signer key: key ID mismatch');
  return { name: m[1], seed, privateKey, verifier };
}

// ---------------------------------------------------------------------------------------------
// Notes

/** Signs `body` (must end with a newline) and returns the full note text. */
export function signNote(body: string, name: string, privateKey: KeyObject): string {
  if (!isValidText(body)) throw new NoteError('malformed', 'note text must end with a newline and hold no control characters');
  if (!isValidKeyName(name)) throw new NoteError('bad-key', `invalid key name ${JSON.stringify(name)}`);
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
    throw new NoteError('bad-key', 'an Ed25519 private key is required');
  }
  const id = keyId(name, rawPublicKey(privateKey));
  const sig = sign(null, Buffer.from(body, 'utf8'), privateKey);
  return `${body}\n${SIG_PREFIX}${name} ${Buffer.concat([id, sig]).toString('base64')}\n`;
}

export interface NoteSignature {
  name: string;
  keyId: Buffer;
  /** The base64 as written in the note. */
  base64: string;
}

export interface OpenedNote {
  /** The signed text, final newline included. */
  text: string;
  /** Signatures by known keys, all verified. */
  signatures: NoteSignature[];
  /** Signatures by keys not in the verifier list (not checked). */
  unverified: NoteSignature[];
}

/**
 * Parses a note and checks its signatures. Signatures by unknown keys (name and key ID not both
 * matching a verifier) are ignored; a known key's signature that fails rejects the whole note; at
 * least one known signature must verify. Throws NoteError otherwise.
 */
export function openNote(note: string | Uint8Array, verifiers: readonly NoteVerifier[] | NoteVerifier): OpenedNote {
  let msg: string;
  if (typeof note === 'string') {
    msg = note;
  } else {
    try {
      msg = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(note);
    } catch {
      throw new NoteError('malformed', 'note is not valid UTF-8');
    }
  }
  if (!isWellFormed(msg) || hasControl(msg)) {
    throw new NoteError('malformed', 'note holds control characters or is not valid UTF-8');
  }
  const split = msg.lastIndexOf('\n\n');
  if (split < 0) throw new NoteError('malformed', 'note has no signature block');
  const text = msg.slice(0, split + 1);
  const sigBlock = msg.slice(split + 2);
  if (sigBlock.length === 0 || !sigBlock.endsWith('\n')) throw new NoteError('malformed', 'note has no signature lines');
  const lines = sigBlock.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw new NoteError('malformed', `more than ${MAX_SIGNATURES} signatures`);

  const known = Array.isArray(verifiers) ? verifiers : [verifiers as NoteVerifier];
  const textBytes = Buffer.from(text, 'utf8');
  const signatures: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  for (const line of lines) {
    if (!line.startsWith(SIG_PREFIX)) throw new NoteError('malformed', 'signature line must start with an em dash');
    const rest = line.slice(SIG_PREFIX.length);
    const sp = rest.indexOf(' ');
    if (sp < 0) throw new NoteError('malformed', 'signature line has no signature');
    const name = rest.slice(0, sp);
    const b64 = rest.slice(sp + 1);
    const raw = decodeBase64Strict(b64);
    if (!isValidKeyName(name) || !raw || raw.length < 5) throw new NoteError('malformed', 'bad signature line');
    const id = Buffer.from(raw.subarray(0, 4));
    const entry: NoteSignature = { name, keyId: id, base64: b64 };
    const v = known.find((k) => k.name === name && k.keyId.equals(id));
    if (!v) {
      unverified.push(entry);
      continue;
    }
    if (!v.verify(textBytes, raw.subarray(4))) {
      throw new NoteError('invalid-signature', `invalid signature for key ${name}+${id.toString('hex')}`);
    }
    signatures.push(entry);
  }
  if (signatures.length === 0) throw new NoteError('unverified', 'note has no signature from a known key');
  return { text, signatures, unverified };
}

// ---------------------------------------------------------------------------------------------
// Checkpoints

export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Buffer;
  extensions?: string[];
}

/** `origin\nsize\nbase64(root)\n` followed by optional non-empty extension lines. */
export function formatCheckpoint(cp: Checkpoint): string {
  const { origin, size, rootHash, extensions = [] } = cp;
  if (typeof origin !== 'string' || origin.length === 0 || !isValidText(`${origin}\n`) || origin.includes('\n')) {
    throw new NoteError('malformed', 'checkpoint origin must be a non-empty line');
  }
  if (!Number.isSafeInteger(size) || size < 0) throw new NoteError('malformed', 'checkpoint size must be a non-negative safe integer');
  if (!Buffer.isBuffer(rootHash) || rootHash.length !== HASH_SIZE) throw new NoteError('malformed', 'checkpoint root must be 32 bytes');
  for (const e of extensions) {
    if (typeof e !== 'string' || e.length === 0 || e.includes('\n') || !isValidText(`${e}\n`)) {
      throw new NoteError('malformed', 'checkpoint extension lines must be non-empty single lines');
    }
  }
  return [origin, String(size), rootHash.toString('base64'), ...extensions].map((l) => `${l}\n`).join('');
}

/** Parses a checkpoint body (the note text, final newline included). Throws NoteError. */
export function parseCheckpoint(body: string): Required<Checkpoint> {
  if (typeof body !== 'string' || !isValidText(body)) throw new NoteError('malformed', 'checkpoint must end with a newline');
  const lines = body.slice(0, -1).split('\n');
  if (lines.length < 3) throw new NoteError('malformed', 'checkpoint needs origin, size and root lines');
  const [origin, sizeLine, rootLine, ...extensions] = lines;
  if (origin.length === 0) throw new NoteError('malformed', 'checkpoint origin is empty');
  if (!/^(0|[1-9][0-9]*)$/.test(sizeLine) || !Number.isSafeInteger(Number(sizeLine))) {
    throw new NoteError('malformed', 'checkpoint size is not a canonical decimal');
  }
  const rootHash = decodeBase64Strict(rootLine);
  if (!rootHash || rootHash.length !== HASH_SIZE) throw new NoteError('malformed', 'checkpoint root is not base64 of 32 bytes');
  if (extensions.some((e) => e.length === 0)) throw new NoteError('malformed', 'checkpoint extension line is empty');
  return { origin, size: Number(sizeLine), rootHash, extensions };
}

/** Opens a signed checkpoint and parses its body; checks the origin when `origin` is given. */
export function openCheckpoint(
  note: string | Uint8Array, verifiers: readonly NoteVerifier[] | NoteVerifier, origin?: string,
): Required<Checkpoint> & { note: OpenedNote } {
  const opened = openNote(note, verifiers);
  const cp = parseCheckpoint(opened.text);
  if (origin !== undefined && cp.origin !== origin) {
    throw new NoteError('malformed', `checkpoint origin ${JSON.stringify(cp.origin)} is not ${JSON.stringify(origin)}`);
  }
  return { ...cp, note: opened };
}
