// Tests that enter a TOTP code of the previous step (so that the next login's code of the current step is
// not a replay) race the 30-second boundary: if a step ends between reading the clock and the server's
// check, the code is two steps old and refused. This waits out the end of a step that is close.
import { setTimeout as sleep } from 'node:timers/promises';

export async function clearOfStepBoundary(marginSeconds = 10): Promise<void> {
  const left = 30_000 - (Date.now() % 30_000);
  if (left < marginSeconds * 1000) await sleep(left + 50);
}
