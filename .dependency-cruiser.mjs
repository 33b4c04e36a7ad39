// Import boundaries of src/ (docs/architecture.md), checked by `npm run lint:deps` inside `npm test`:
// no import cycle, and no folder imports a folder above it in LAYERS. Type-only imports count too.
const LAYERS = ['core', 'fhir', 'vault', 'access', 'store', 'audit', 'auth', 'ops', 'seed', 'detect', 'respond', 'server', 'cli'];
// Inside audit/: Merkle hashing at the bottom, then recording, the stream, the log, the read models.
const AUDIT = ['merkle', 'record', 'stream', 'log', 'read'];

const above = (list, i) => list.slice(i + 1).join('|');
const layerRules = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `${layer}-imports-upward`,
  comment: `src/${layer}/ may import only from ${LAYERS.slice(0, i).join(', ') || 'nothing of the project'} (and itself).`,
  severity: 'error',
  from: { path: `^src/${layer}/` },
  to: { path: `^src/(${above(LAYERS, i)})/` },
}));
const auditRules = AUDIT.slice(0, -1).map((part, i) => ({
  name: `audit-${part}-imports-upward`,
  comment: `src/audit/${part}/ may import only from audit/${AUDIT.slice(0, i).join(', audit/') || '(nothing)'} inside audit/.`,
  severity: 'error',
  from: { path: `^src/audit/${part}/` },
  to: { path: `^src/audit/(${above(AUDIT, i)})/` },
}));

export default {
  forbidden: [
    { name: 'no-circular', comment: 'Modules must not import each other, directly or through others.', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'core-imports-nothing',
      comment: 'src/core/ holds the ground types: it imports nothing of the project outside itself.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^src/', pathNot: '^src/core/' },
    },
    ...layerRules,
    ...auditRules,
    {
      name: 'entry-points-at-the-top',
      comment: 'src/main.ts and src/services.ts wire everything: only the entry points (main.ts, cli/main.ts) import them.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(main\\.ts|cli/main\\.ts)$' },
      to: { path: '^src/(main|services)\\.ts$' },
    },
    {
      name: 'cli-entry-only-from-bin',
      comment: 'src/cli/main.ts is the command\'s entry point: nothing under src/ imports it.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^src/cli/main\\.ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.mjs', '.js'] },
  },
};
