// TOTP: RFC 6238 Appendix B test vectors through otplib (the library our module uses), and the
// module's replay protection and window.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateSync } from 'otplib';
import { checkTotp, newTotpSecret, totpNow } from '../../src/auth/totp.ts';

// RFC 6238 Appendix B: the SHA-1 seed is 20 bytes, SHA-256 32 bytes, SHA-512 64 bytes (see SECURITY-NOTES).
const SEEDS = {
  sha1: '12345678901234567890',
  sha256: '12345678901234567890123456789012',
  sha512: '1234567890123456789012345678901234567890123456789012345678901234',
} as const;
const VECTORS: [number, string, string, string][] = [
  [59, '94287082', '46119246', '90693936'],
  [1111111109, '07081804', '68084774', '25091201'],
  [1111111111, '14050471', '67062674', '99943326'],
  [1234567890, '89005924', '91819424', '93441116'],
  [2000000000, '69279037', '90698825', '38618901'],
  [20000000000, '65353130', '77737706', '47863826'],
];

test('RFC 6238 Appendix B vectors (SHA-1, SHA-256, SHA-512, 8 digits)', () => {
  for (const [t, sha1, sha256, sha512] of VECTORS) {
    for (const [alg, want] of [['sha1', sha1], ['sha256', sha256], ['sha512', sha512]] as const) {
      const secret = new TextEncoder().encode(SEEDS[alg]);
      assert.equal(generateSync({ secret, epoch: t, digits: 8, algorithm: alg, period: 30 }), want, `${alg} at ${t}`);
    }
  }
});

test('a code is accepted once (replay), within ±1 step only', () => {
  const s = newTotpSecret();
  const now = 1_800_000_015;
  const code = totpNow(s, now);
  const step = checkTotp(s, code, null, now);
  assert.equal(step, Math.floor(now / 30));
  assert.equal(checkTotp(s, code, step, now), null, 'the same code twice');
  // The previous step's code is refused once a later step was used.
  assert.equal(checkTotp(s, totpNow(s, now - 30), step, now), null);
  assert.equal(checkTotp(s, totpNow(s, now + 30), step, now), step! + 1, 'next step within the window');
  assert.equal(checkTotp(s, totpNow(s, now - 90), null, now), null, 'outside the window');
  for (const bad of ['', '12345', '1234567', 'abcdef', 123456, null]) assert.equal(checkTotp(s, bad, null, now), null);
});
