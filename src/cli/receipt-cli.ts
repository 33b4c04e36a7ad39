// `cerbere audit verify-receipt FILE [--key VERIFIER_KEY]`: checks an access receipt offline.
// With --key (the verifier key line printed by `cerbere audit public-key`, or a file holding it) it
// needs neither the database nor the server; without it the tenant's key is taken from the running
// server (admin socket) or, failing that, from the database. The output says which key was used.
import { readFileSync, existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CliError, type Io } from './io.ts';
import { parseVerifierKey, type NoteVerifier } from '../audit/log/note.ts';
import { parseReceipt, ReceiptError, verifyReceipt } from '../audit/log/receipt.ts';
import { parseCheckpoint } from '../audit/log/note.ts';

export const VERIFY_RECEIPT_USAGE = 'audit verify-receipt FILE [--key KEY]    check an access receipt offline (KEY: verifier key or a file holding it)';
export const VERIFY_RECEIPT_OPTIONS = { key: { type: 'string' } } as const;

function readText(file: string, what: string): string {
  try { return readFileSync(file, 'utf8'); } catch { throw new CliError(`cannot read ${what} ${file}`); }
}

/** A verifier key given as the key itself or as a file whose last non-empty line is the key. */
export function verifierFromArg(arg: string): NoteVerifier {
  let text = arg.trim();
  if (!/^[^\s+]+\+[0-9a-fA-F]{8}\+/.test(text) && existsSync(arg)) {
    text = readText(arg, 'key file').split('\n').map((l) => l.trim()).filter(Boolean).at(-1) ?? '';
  }
  try { return parseVerifierKey(text); } catch { throw new CliError('--key is not a verifier key (name+keyid+base64, as printed by cerbere audit public-key)'); }
}

/** The tenant a receipt claims to be from (its checkpoint origin cerbere/<tenant>), to fetch that key. */
export function receiptTenant(text: string): string {
  try {
    const r = parseReceipt(text);
    const body = r.checkpoint.slice(0, r.checkpoint.lastIndexOf('\n\n') + 1);
    const m = /^cerbere\/([a-z0-9][a-z0-9-]{0,39})$/.exec(parseCheckpoint(body).origin);
    if (m) return m[1];
  } catch (e) {
    if (e instanceof ReceiptError) throw new CliError(`receipt REJECTED: ${e.message}`);
  }
  throw new CliError('receipt REJECTED: its checkpoint is not from a Cerbère access log');
}

/** Verifies and prints; throws CliError (one line) on any failure. */
export function checkReceipt(text: string, verifier: NoteVerifier, keySource: string, io: Io): void {
  let v;
  try {
    v = verifyReceipt(text, verifier);
  } catch (e) {
    if (e instanceof ReceiptError) throw new CliError(`receipt REJECTED: ${e.message} (key ${verifier.name}+${verifier.keyId.toString('hex')}, ${keySource})`);
    throw e;
  }
  io.line(`OK: event ${v.index} is in the access log ${v.origin} of size ${v.size} (key ${verifier.name}+${verifier.keyId.toString('hex')}, ${keySource})`);
  const e = v.event;
  io.line(`event: ${e.at} ${e.action} ${e.outcome} by ${e.actorKind} ${e.actorId} (role ${e.role}${e.siteId ? `, site ${e.siteId}` : ''}), purpose ${e.purpose}, patients ${e.patientIds.join(' ') || '-'}`);
}

/**
 * Runs verify-receipt in the CLI process itself (the file is the caller's, not the server's).
 * Returns null when argv is another command.
 */
export async function runVerifyReceiptLocally(argv: string[], io: Io, serverKey: (tenant: string) => Promise<{ key: string; source: string }>): Promise<number | null> {
  if (argv[0] !== 'audit' || argv[1] !== 'verify-receipt') return null;
  try {
    let parsed;
    try { parsed = parseArgs({ args: argv.slice(2), options: VERIFY_RECEIPT_OPTIONS, allowPositionals: true, strict: true }); } catch (e) {
      throw new CliError(String((e as Error).message).split('\n')[0]);
    }
    if (parsed.positionals.length !== 1) throw new CliError('usage: cerbere audit verify-receipt FILE [--key VERIFIER_KEY]');
    const text = readText(parsed.positionals[0], 'receipt');
    if (typeof parsed.values.key === 'string') {
      checkReceipt(text, verifierFromArg(parsed.values.key), 'given with --key', io);
    } else {
      const tenant = receiptTenant(text);
      const k = await serverKey(tenant);
      checkReceipt(text, verifierFromArg(k.key), k.source, io);
    }
    return 0;
  } catch (e) {
    if (e instanceof CliError) { io.line(`cerbere: ${e.message}`); return 2; }
    io.line('cerbere: could not get the tenant\'s verifier key (no running server or database); pass --key');
    return 1;
  }
}
