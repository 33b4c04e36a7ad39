// Purposes of use (HL7 v3 PurposeOfUse codes) a request may declare in X-Purpose-Of-Use; recorded with
// each access event. Internal jobs record their own purpose ('system', 'key-rotation', 'retention', …).
export const PURPOSES_OF_USE = ['TREAT', 'ETREAT', 'HPAYMT', 'HOPERAT', 'PATRQT', 'PUBHLTH', 'HRESCH', 'HSYSADMIN', 'COVERAGE'] as const;

export type PurposeOfUse = (typeof PURPOSES_OF_USE)[number];

/** A request that declares none. */
export const DEFAULT_PURPOSE: PurposeOfUse = 'TREAT';

const KNOWN = new Set<string>(PURPOSES_OF_USE);
export const isPurposeOfUse = (p: string): p is PurposeOfUse => KNOWN.has(p);
