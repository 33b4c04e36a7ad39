// What every route answers with (kept apart from app.ts so routes never import the app that registers them).
export const FHIR_JSON = 'application/fhir+json; charset=utf-8';
