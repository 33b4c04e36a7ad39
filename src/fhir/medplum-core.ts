// Loads @medplum/core's CommonJS build for the validator, with three edits to its element crawler that keep
// the validator's results identical for JSON data (what a request body parses to: no getters, no proxies)
// and make it ≈ 2.3× faster on Node 20. This instance of the library
// serves validate.ts only (validation, definitions, isResourceType); nothing else crawls with it.
//
// Why: the crawler tags every property value it visits with its path through `{ ...typedValue, path }`.
// V8 11.3 (Node 20) gives an object built by spread a map outside any transition tree, so adding `path` to
// it makes a new hidden class on every call (≈ 0.5 µs, in the runtime, and garbage for the GC), about a
// hundred times per patient. And it visits every element a type defines, present or not. Edits:
//  1. withPath builds `{ type, value, path }` directly. The values it receives are always exactly
//     `{ type, value }` objects (built by toTypedValueWithType, toTypedValue and
//     getTypedPropertyValueWithoutSchema), so the result has the same keys, in the same order.
//  2. crawlObject skips an element the validator would find absent and optional (ABSENT below says when).
//  3. getNestedProperty skips `key.split('.')` and its array destructuring for a key without a dot, the
//     only kind the crawler passes; for such a key the loop over nested keys never ran.
// Each edit names an exact text of the build, which must occur once, and so does each definition the
// appended helper calls by its minified name (REQUIRED). If any is missing (another version),
// the stock library is loaded instead and a warning is emitted; a test fails on the installed version if
// the edits stop applying, and another checks that edited and stock validators give identical results.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { compileFunction } from 'node:vm';
import type * as MedplumCore from '@medplum/core';

type Core = typeof MedplumCore;

interface Edit {
  name: string;
  find: string;
  replace: string;
}

const EDITS: readonly Edit[] = [
  {
    name: 'withPath without object spread',
    find: 'Array.isArray(t)?t.map((i,o)=>({...i,path:`${r}${n}[${o}]`})):{...t,path:`${r}${n}`}',
    replace: 'Array.isArray(t)?t.map((i,o)=>({type:i.type,value:i.value,path:`${r}${n}[${o}]`})):{type:t.type,value:t.value,path:`${r}${n}`}',
  },
  {
    name: 'crawlObject skips absent optional elements',
    find: 'else for(let o of Object.keys(n.elements))this.crawlProperty(e,o,n,`${r}.${o}`);this.visitor.onExitObject',
    replace: 'else for(let o of Object.keys(n.elements)){if(__cerbereAbsent(e,o,n.elements[o]))continue;this.crawlProperty(e,o,n,`${r}.${o}`)}this.visitor.onExitObject',
  },
  {
    name: 'getNestedProperty fast path for a key without a dot',
    find: 'let r=n?.withPath?qn:N,[i,...o]=e.split("."),s=[r(t,i,n)];',
    replace: 'let r=n?.withPath?qn:N;if(e.indexOf(".")<0)return[r(t,e,n)];let[i,...o]=e.split("."),s=[r(t,i,n)];',
  },
];

// The build's definitions that the helper below calls by their minified names: a release that renamed or
// changed them while keeping the edits' texts must fall back to the stock build, not call something else.
const REQUIRED: readonly { name: string; text: string }[] = [
  { name: 'getElementDefinition as Nt', text: 'function Nt(t,e,n){let r=Ve(t,n);if(r)return Ii(r.elements,e)}' },
  { name: 'capitalize as D', text: 'function D(t){return t?t.charAt(0).toUpperCase()+t.substring(1):""}' },
];

// Edit 2's helper, appended to the build (its functions are in scope there): Nt is getElementDefinition, D is
// capitalize. An element can be skipped when the crawl of it would find nothing and report nothing: it is
// optional (the validator reports a missing element only when min > 0), and getTypedPropertyValue would
// return undefined, because the object is empty or every property name it would read (the element's name,
// or each typed name of a choice, and their `_` primitive-extension partners) is undefined on the object.
// Then the stock crawler would only have handed the validator an undefined value, which it ignores.
// Only single-segment keys with a schema element are considered; anything else is crawled as before.
const ABSENT = `const __cerbereNames=new WeakMap();
function __cerbereAbsent(e,o,f){if(f.min>0)return false;const v=e.value;if(!v)return true;if(o.indexOf(".")>=0)return false;
const el=Nt(e.type,o,void 0);if(!el)return false;let names=__cerbereNames.get(el);
if(names===void 0){names=[];const seg=el.path.substring(el.path.lastIndexOf(".")+1);
for(const t of el.type??[]){const b=seg.endsWith("[x]")?seg.substring(0,seg.length-3)+D(t.code):seg;names.push(b,"_"+b);if(!seg.endsWith("[x]"))break}
__cerbereNames.set(el,names)}
for(let i=0;i<names.length;i++)if(v[names[i]]!==void 0)return false;return true}`;

export interface LoadedCore {
  core: Core;
  /** Whether the edits were applied (false: the stock build, and `reason` says why). */
  edited: boolean;
  reason?: string;
}

/** Whether `part` occurs exactly once in `text` (an edit or a definition must be unambiguous). */
function occursOnce(text: string, part: string): boolean {
  const at = text.indexOf(part);
  return at >= 0 && text.indexOf(part, at + 1) < 0;
}

/** Applies every edit to the build's text, or returns why not (an edit's text is absent or not unique). */
export function applyEdits(source: string): { text: string } | { reason: string } {
  for (const req of REQUIRED) {
    if (!occursOnce(source, req.text)) return { reason: `@medplum/core definition "${req.name}" is not the one the edits expect` };
  }
  let text = source;
  for (const edit of EDITS) {
    if (!occursOnce(text, edit.find)) return { reason: `@medplum/core edit "${edit.name}" does not apply to the installed build` };
    text = text.replace(edit.find, () => edit.replace);
  }
  return { text: `${text}\n${ABSENT}\n` };
}

/**
 * Runs `load` with the WebSocket constants @medplum/core 5.x reads when its module is evaluated: Node 20
 * has no global WebSocket (it came unflagged in Node 22). Only while it loads; the validator never opens one.
 */
export function withWebSocketConstants<T>(load: () => T): T {
  const g = globalThis as { WebSocket?: unknown };
  const stubbed = g.WebSocket === undefined;
  if (stubbed) g.WebSocket = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 };
  try {
    return load();
  } finally {
    if (stubbed) delete g.WebSocket;
  }
}

/** The edited library; the stock one (with a warning) if the installed build is not the one the edits fit. */
export function loadMedplumCore(): LoadedCore {
  const require = createRequire(import.meta.url);
  const filename = require.resolve('@medplum/core');
  const edited = applyEdits(readFileSync(filename, 'utf8'));
  if ('reason' in edited) {
    process.emitWarning(`${edited.reason}; using it unedited (FHIR validation will be slower)`, { code: 'CERBERE_MEDPLUM_EDITS' });
    return { core: withWebSocketConstants(() => require('@medplum/core') as Core), edited: false, reason: edited.reason };
  }
  // Evaluated like require() would: a CommonJS function of (exports, require, module, __filename, __dirname).
  const fn = compileFunction(edited.text, ['exports', 'require', 'module', '__filename', '__dirname'], { filename });
  const mod = { exports: {} as Record<string, unknown> };
  withWebSocketConstants(() => fn.call(mod.exports, mod.exports, createRequire(filename), mod, filename, dirname(filename)));
  return { core: mod.exports as unknown as Core, edited: true };
}
