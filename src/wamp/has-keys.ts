// A dict test the hot paths share (marshal, raw payloads, the Dealer).

/** Whether a dict has a key, without building the key list. */
export function hasKeys<D extends object>(d: D | undefined): d is D {
  if (d === undefined) return false;
  for (const _ in d) return true;
  return false;
}
