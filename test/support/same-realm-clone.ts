/**
 * Jest's node environment gives the test context Node's own `structuredClone`, whose copies are
 * objects of the outer realm; oidc-provider copies its static clients with it when constructed,
 * then refuses a `jwks` whose keys are not plain objects of its own realm (`constructor ===
 * Object`): "client JSON Web Key Set is invalid". While `build` runs (the provider is
 * constructed), copies are made in this realm, as in any single-realm process.
 */
export async function withSameRealmClone<T>(build: () => Promise<T>): Promise<T> {
  const { structuredClone } = globalThis;
  globalThis.structuredClone = <V>(value: V): V => (value === undefined ? value : JSON.parse(JSON.stringify(value)) as V);
  try {
    return await build();
  } finally {
    globalThis.structuredClone = structuredClone;
  }
}
