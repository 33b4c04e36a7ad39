// The stored form of a resource version: the input with its id and server-set meta (versionId,
// lastUpdated; a client's meta.source is dropped). Shared by the repository and the import workers,
// which seal that form, so both write the same JSON.
export function stampResource(input: any, id: string, version: number, lastUpdated: string): any {
  const resource = { ...input, id, meta: { ...(input.meta ?? {}), versionId: String(version), lastUpdated } };
  delete resource.meta.source;
  return resource;
}
