// Byte helpers for the checks in verify.js: strict base64 and hex, UTF-8,
// SHA-2 through WebCrypto, and the Fail error a check throws to say why it
// failed. No dependencies; nothing here touches the page.

// Fail is a check's failure; its message is the reason shown to the user.
export class Fail extends Error {}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

// subtle is WebCrypto, which browsers give only to secure contexts: a page
// served over HTTPS or from localhost.
export function subtle() {
  const s = globalThis.crypto && globalThis.crypto.subtle;
  if (!s) {
    throw new Fail('WebCrypto is unavailable: the page is not a secure context (serve it over HTTPS)');
  }
  return s;
}

// sha256 of bytes, as a Uint8Array.
export async function sha256(bytes) {
  return new Uint8Array(await subtle().digest('SHA-256', bytes));
}

// fromBase64 decodes standard base64 with padding (Go's
// base64.StdEncoding, which encoding/json uses for []byte); base64url or
// missing padding is refused, naming what was being read.
export function fromBase64(s, what) {
  if (typeof s !== 'string' || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) {
    throw new Fail(`${what}: not standard base64`);
  }
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

// toBase64 encodes bytes as standard base64.
export function toBase64(bytes) {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

// toHex is lower-case hex, as Go's hex.EncodeToString.
export function toHex(bytes) {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

// fromHex decodes hex of either case into exactly n bytes.
export function fromHex(s, n, what) {
  if (typeof s !== 'string' || s.length !== 2 * n || !/^[0-9a-fA-F]*$/.test(s)) {
    throw new Fail(`${what}: ${JSON.stringify(shorten(String(s)))} is not ${2 * n} hex digits`);
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

// decodeUTF8 reads bytes as strict UTF-8.
export function decodeUTF8(bytes, what) {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new Fail(`${what}: not valid UTF-8`);
  }
}

// encodeUTF8 is a string's UTF-8 bytes.
export function encodeUTF8(s) {
  return encoder.encode(s);
}

// bytesOf takes bytes as a Uint8Array (or ArrayBuffer) or a string, which
// stands for its UTF-8 encoding.
export function bytesOf(v, what) {
  if (v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (typeof v === 'string') return encoder.encode(v);
  throw new Fail(`${what}: want bytes or a string, got ${typeName(v)}`);
}

// concat joins byte arrays.
export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

// equal compares two byte arrays.
export function equal(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

// shorten cuts a long string for a message.
export function shorten(s, n = 80) {
  return s.length <= n ? s : s.slice(0, n) + '…';
}

// typeName names a value's type for a message.
export function typeName(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}

// run calls fn and turns what it throws into a failed result, so that no
// check ever throws: a Fail's message is the reason, anything else an
// internal error worth reporting.
export async function run(fn) {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof Fail) return { ok: false, reason: e.message };
    return { ok: false, reason: `internal error: ${e && e.message ? e.message : String(e)}` };
  }
}
