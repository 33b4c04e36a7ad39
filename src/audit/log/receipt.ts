// Access receipts: a C2SP tlog-proof (https://c2sp.org/tlog-proof) for one access event, verifiable
// offline by anyone holding the log's verifier key.
//
//   c2sp.org/tlog-proof@v1
//   extra <base64 of the canonical entry (src/audit/record/entry.ts)>
//   index <leaf index>
//   <base64 inclusion proof hash>…            (leaf's sibling first, up to the root's child)
//
//   <signed checkpoint, verbatim>
//
// The `extra` line carries the entry itself: its leaf hash is SHA-256(0x00 ‖ entry), and the entry
// names its tenant and leaf index, which must agree with the checkpoint's origin and the index line.
import { HASH_SIZE, leafHash } from '../merkle/merkle.ts';
import { verifyInclusion } from '../merkle/merkle-verify.ts';
import { NoteError, openCheckpoint, type NoteVerifier } from './note.ts';
import { ENTRY_FORMAT } from '../record/entry.ts';
import { logOrigin } from './signer.ts';

export const RECEIPT_HEADER = 'c2sp.org/tlog-proof@v1';

export class ReceiptError extends Error {
  constructor(message: string) { super(message); this.name = 'ReceiptError'; }
}

export interface Receipt { index: number; proof: Buffer[]; entry: Buffer | null; checkpoint: string }

export function formatReceipt(r: Receipt): string {
  const lines = [RECEIPT_HEADER];
  if (r.entry) lines.push(`extra ${r.entry.toString('base64')}`);
  lines.push(`index ${r.index}`, ...r.proof.map((h) => h.toString('base64')));
  return `${lines.join('\n')}\n\n${r.checkpoint}`;
}

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function b64(s: string, what: string): Buffer {
  if (!B64.test(s)) throw new ReceiptError(`${what} is not base64`);
  const b = Buffer.from(s, 'base64');
  if (b.toString('base64') !== s) throw new ReceiptError(`${what} is not canonical base64`);
  return b;
}

export function parseReceipt(text: string): Receipt {
  if (typeof text !== 'string') throw new ReceiptError('not a text file');
  const split = text.indexOf('\n\n');
  if (split < 0) throw new ReceiptError('truncated: no checkpoint after the proof');
  const head = text.slice(0, split).split('\n');
  const checkpoint = text.slice(split + 2);
  if (head.shift() !== RECEIPT_HEADER) throw new ReceiptError(`not a receipt: the first line must be ${RECEIPT_HEADER}`);
  let entry: Buffer | null = null;
  if (head[0]?.startsWith('extra ')) entry = b64((head.shift() as string).slice(6), 'the extra line');
  const m = /^index (0|[1-9][0-9]{0,15})$/.exec(head.shift() ?? '');
  if (!m || !Number.isSafeInteger(Number(m[1]))) throw new ReceiptError('malformed index line');
  const proof = head.map((l, i) => {
    const h = b64(l, `proof hash ${i + 1}`);
    if (h.length !== HASH_SIZE) throw new ReceiptError(`proof hash ${i + 1} is not 32 bytes`);
    return h;
  });
  if (!checkpoint) throw new ReceiptError('truncated: the checkpoint is missing');
  return { index: Number(m[1]), proof, entry, checkpoint };
}

export interface VerifiedReceipt {
  index: number; size: number; origin: string; tenantId: string;
  /** The decoded entry: fields as documented in src/audit/entry.ts. */
  event: { at: string; actorKind: string; actorId: string; role: string; siteId: string | null; purpose: string; action: string; outcome: string; patientIds: string[] };
}

/** Checks signature, origin, entry and inclusion; throws ReceiptError with a one-line reason. */
export function verifyReceipt(text: string, verifier: NoteVerifier): VerifiedReceipt {
  const r = parseReceipt(text);
  let cp;
  try {
    cp = openCheckpoint(r.checkpoint, verifier);
  } catch (e) {
    const why = e instanceof NoteError && (e.code === 'unverified' || e.code === 'invalid-signature')
      ? `the checkpoint is not signed by ${verifier.name}+${verifier.keyId.toString('hex')}` : 'the checkpoint is malformed';
    throw new ReceiptError(why);
  }
  if (cp.origin !== verifier.name) throw new ReceiptError(`the checkpoint is of log ${cp.origin}, not ${verifier.name}`);
  if (!r.entry) throw new ReceiptError('the receipt does not carry the entry (no extra line)');
  let fields: unknown;
  try { fields = JSON.parse(r.entry.toString('utf8')); } catch { throw new ReceiptError('the entry is not a Cerbère access event'); }
  if (!Array.isArray(fields) || fields.length !== 17 || fields[0] !== ENTRY_FORMAT) throw new ReceiptError('the entry is not a Cerbère access event');
  const [, tenantId, leafIndex, , at, actorKind, actorId, role, siteId, , , purpose, action, outcome, , patientIds] = fields as [string, string, number, string, string, string, string, string, string | null, unknown, unknown, string, string, string, unknown, string[]];
  if (logOrigin(tenantId) !== cp.origin) throw new ReceiptError(`the entry belongs to log ${logOrigin(String(tenantId))}, not ${cp.origin}`);
  if (leafIndex !== r.index) throw new ReceiptError(`the entry was recorded at index ${leafIndex}, not ${r.index}`);
  if (r.index >= cp.size) throw new ReceiptError(`index ${r.index} is beyond the checkpoint size ${cp.size}`);
  if (!verifyInclusion(leafHash(r.entry), r.index, cp.size, r.proof, cp.rootHash)) {
    throw new ReceiptError(`the inclusion proof does not lead from the entry to the signed root of size ${cp.size}`);
  }
  return { index: r.index, size: cp.size, origin: cp.origin, tenantId, event: { at, actorKind, actorId, role, siteId, purpose, action, outcome, patientIds } };
}
