/**
 * SNI names are compared lower-cased and without one trailing dot, on the certificate side (spec
 * 2.4: the runtime normalises `sni`/`snis`) and on the handshake side (spec 3.3: "Lowercase the SNI
 * and strip a trailing `.`"), so `A.Test.COM.` and `a.test.com` are the same name.
 */
export function normaliseServerName(name: string): string {
  let end = name.length;
  if (end > 0 && name.charCodeAt(end - 1) === 46 /* '.' */) end--;
  const trimmed = end === name.length ? name : name.slice(0, end);
  return hasUpperCase(trimmed) ? trimmed.toLowerCase() : trimmed;
}

/** Most clients already send lower case; skipping toLowerCase() then avoids a copy. */
function hasUpperCase(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code >= 65 && code <= 90) return true;
    if (code > 127) return true; // non-ASCII: let toLowerCase() decide
  }
  return false;
}
