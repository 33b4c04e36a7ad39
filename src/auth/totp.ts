// TOTP (RFC 6238) through otplib: SHA-1, 6 digits, 30 s, window ±1 step. The caller stores the last
// accepted time step and passes it back, so a code is accepted once (replay protection).
import { generateSecret, generateSync, generateURI, verifySync } from 'otplib';

export const TOTP_PERIOD = 30;

export function newTotpSecret(): string {
  return generateSecret({ length: 20 }); // 160-bit secret, base32
}

export function totpUri(secret: string, issuer: string, label: string): string {
  return generateURI({ issuer, label, secret });
}

export function totpNow(secret: string, epochSeconds = Math.floor(Date.now() / 1000)): string {
  return generateSync({ secret, epoch: epochSeconds });
}

/** The time step of the accepted code, or null. A step ≤ lastStep is refused (replay). */
export function checkTotp(secret: string, code: unknown, lastStep: number | null, epochSeconds = Math.floor(Date.now() / 1000)): number | null {
  if (typeof code !== 'string' || !/^[0-9]{6}$/.test(code)) return null;
  try {
    const r = verifySync({ secret, token: code, epoch: epochSeconds, epochTolerance: TOTP_PERIOD, ...(lastStep !== null ? { afterTimeStep: lastStep } : {}) });
    if (!r.valid) return null;
    const step = (r as { timeStep?: number }).timeStep;
    if (typeof step !== 'number' || (lastStep !== null && step <= lastStep)) return null;
    return step;
  } catch {
    return null;
  }
}
