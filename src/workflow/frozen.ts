/**
 * JSON text for plain data that may hold `undefined` (a compiled workflow has optional
 * fields and tuples whose last element may be undefined): JSON.stringify would drop the one
 * and turn the other into null. `freeze` writes undefined as a marker object; `thaw` puts
 * it back, so thaw(freeze(x)) is deeply and strictly equal to x for plain data.
 */
const UNDEFINED = '$undefined';

export function freeze(v: unknown): string {
  return JSON.stringify(v, (_key, x: unknown) => (x === undefined ? { [UNDEFINED]: true } : x));
}

function restore(v: unknown): unknown {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = restore(v[i]);
    return v;
  }
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (o[UNDEFINED] === true && Object.keys(o).length === 1) return undefined;
    for (const k of Object.keys(o)) o[k] = restore(o[k]);
  }
  return v;
}

export function thaw(text: string): unknown {
  return restore(JSON.parse(text));
}
