import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeDate, normalizeEmail, normalizeNir, normalizePhone, normalizeText, normalizeToken } from '../../src/vault/normalize.ts';
import { normalizeNir as nirFromFhir } from '../../src/fhir/nir.ts';

test('normalizeText: accents, case, whitespace, hyphens and apostrophes', () => {
  assert.equal(normalizeText('Éloïse  Le-Gall'), 'eloise le gall');
  assert.equal(normalizeText('eloise le gall'), 'eloise le gall');
  assert.equal(normalizeText('  D’Artagnan '), 'd artagnan');
  assert.equal(normalizeText("d'artagnan"), 'd artagnan');
  assert.equal(normalizeText('Jean--Pierre \t  MARTIN'), 'jean pierre martin');
  assert.equal(normalizeText('Jean‑Pierre'), 'jean pierre'); // non-breaking hyphen U+2011
  assert.equal(normalizeText('Ｊｅａｎ'), 'jean'); // full-width (NFKD)
  assert.equal(normalizeText('François Çélestin'), 'francois celestin');
  assert.equal(normalizeText('Lætitia Œuvrard'), 'laetitia oeuvrard');
  assert.equal(normalizeText(' - '), '');
  assert.equal(normalizeText(''), '');
});

test('normalizeEmail: trim, lower-case, plausibility', () => {
  assert.equal(normalizeEmail('  Jean.Dupont@Exemple.FR '), 'jean.dupont@exemple.fr');
  assert.equal(normalizeEmail('mailto:a.b+tag@hopital-x.fr'), 'a.b+tag@hopital-x.fr');
  assert.equal(normalizeEmail('élodie@café.fr'), 'élodie@café.fr');
  for (const bad of ['', 'jean', 'jean@', '@exemple.fr', 'jean@exemple', 'jean dupont@exemple.fr', 'a@b@c.fr', 'jean@-x.fr', 'jean@.fr', 'jean@x..fr', 'jean@exemple.f']) {
    assert.equal(normalizeEmail(bad), null, bad);
  }
});

test('normalizePhone: French forms to E.164', () => {
  for (const p of ['06 12 34 56 78', '0612345678', '06.12.34.56.78', '06-12-34-56-78', '+33 6 12 34 56 78', '+33612345678', '0033612345678', '0033 6 12 34 56 78', '(+33) 6.12.34.56.78', '+33 (0)6 12 34 56 78', '+33 06 12 34 56 78', 'tel:+33-6-12-34-56-78']) {
    assert.equal(normalizePhone(p), '+33612345678', p);
  }
  assert.equal(normalizePhone('01 23 45 67 89'), '+33123456789');
});

test('normalizePhone: overseas departments use their own country code', () => {
  assert.equal(normalizePhone('0692 12 34 56'), '+262692123456');
  assert.equal(normalizePhone('+262 692 12 34 56'), '+262692123456');
  assert.equal(normalizePhone('0262 12 34 56'), '+262262123456');
  assert.equal(normalizePhone('0590 12 34 56'), '+590590123456');
  assert.equal(normalizePhone('0696 12 34 56'), '+596696123456');
  assert.equal(normalizePhone('0694 12 34 56'), '+594694123456');
  assert.equal(normalizePhone('0639 12 34 56'), '+262639123456');
});

test('normalizePhone: other countries and implausible numbers', () => {
  assert.equal(normalizePhone('+1 (415) 555-2671'), '+14155552671');
  assert.equal(normalizePhone('0044 20 7946 0958'), '+442079460958');
  assert.equal(normalizePhone('030 1234567', '49'), '+49301234567');
  for (const bad of ['', '612345678', '06 12 34 56', '06 12 34 56 78 9', '+33 6 12 34', '+33 6 12 34 56 78 90', '00 12 34 56 78', '+0612345678', 'abc', '06 12 34 56 7a', '+', '+1234', '+1234567890123456']) {
    assert.equal(normalizePhone(bad), null, bad);
  }
});

test('normalizeDate: FHIR date and dateTime at the precision written', () => {
  assert.deepEqual(normalizeDate('1985'), { precision: 'year', year: 1985 });
  assert.deepEqual(normalizeDate('1985-03'), { precision: 'month', year: 1985, month: 3 });
  assert.deepEqual(normalizeDate('1985-03-12'), { precision: 'day', year: 1985, month: 3, day: 12 });
  assert.deepEqual(normalizeDate('1985-03-12T10:00:00+01:00'), { precision: 'day', year: 1985, month: 3, day: 12 });
  // Date part as written, no shift to UTC.
  assert.deepEqual(normalizeDate('1985-03-12T23:30:00.123-05:00'), { precision: 'day', year: 1985, month: 3, day: 12 });
  assert.deepEqual(normalizeDate('1985-03-12T00:30:00Z'), { precision: 'day', year: 1985, month: 3, day: 12 });
  assert.deepEqual(normalizeDate(' 2024-02-29 '), { precision: 'day', year: 2024, month: 2, day: 29 });
  for (const bad of ['', '85', '19850', '1985-3', '1985-13', '1985-00', '1985-02-29', '2100-02-29', '1985-04-31', '1985-03-00', '0000', '12/03/1985', '1985-03-12T', '1985-03-12 10:00', 'abcd']) {
    assert.equal(normalizeDate(bad), null, bad);
  }
  assert.deepEqual(normalizeDate('2000-02-29'), { precision: 'day', year: 2000, month: 2, day: 29 });
});

test('normalizeToken keeps case and trims the code', () => {
  assert.equal(normalizeToken('http://loinc.org', ' 8867-4 '), 'http://loinc.org|8867-4');
  assert.equal(normalizeToken(undefined, 'ABC'), '|ABC');
  assert.notEqual(normalizeToken('s', 'abc'), normalizeToken('s', 'ABC'));
});

test('normalizeNir is the FHIR module one, not a copy', () => {
  assert.equal(normalizeNir, nirFromFhir);
  assert.equal(normalizeNir('2 55 08 14 168 025 38'), '255081416802538');
});
