// The little DER the checks need: a strict reader, an ECDSA signature's
// ASN.1 form turned into the raw r||s that WebCrypto verifies, and the
// curve named in a SubjectPublicKeyInfo. Strict as Go's crypto/ecdsa is:
// definite minimal lengths, minimal positive integers, no trailing bytes.

import { Fail, toHex } from './bytes.js';

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const OID = 0x06;
const BIT_STRING = 0x03;

// The curves Potluck keys use, by the DER of their OID, each with the hash
// Potluck's signing package pairs with it (signing/keys.go hashFor) and the
// size of its scalars.
const curves = new Map([
  ['2a8648ce3d030107', { name: 'P-256', hash: 'SHA-256', size: 32 }],
  ['2b81040022', { name: 'P-384', hash: 'SHA-384', size: 48 }],
  ['2b81040023', { name: 'P-521', hash: 'SHA-512', size: 66 }],
]);
const ecPublicKey = '2a8648ce3d0201';

// Reader walks the elements of one DER encoding.
class Reader {
  constructor(bytes, what) {
    this.b = bytes;
    this.i = 0;
    this.what = what;
  }

  fail(msg) {
    throw new Fail(`${this.what}: ${msg}`);
  }

  // read returns the contents of the next element, which must have tag.
  read(tag) {
    const b = this.b;
    if (this.i + 2 > b.length) this.fail('truncated DER');
    if (b[this.i] !== tag) this.fail(`DER tag 0x${b[this.i].toString(16)}, want 0x${tag.toString(16)}`);
    this.i++;
    let len = b[this.i++];
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 3 || this.i + n > b.length || b[this.i] === 0) this.fail('bad DER length');
      len = 0;
      for (let k = 0; k < n; k++) len = len * 256 + b[this.i++];
      if (len < 0x80) this.fail('non-minimal DER length');
    }
    if (this.i + len > b.length) this.fail('truncated DER');
    const out = b.subarray(this.i, this.i + len);
    this.i += len;
    return out;
  }

  // done fails unless every byte was read.
  done() {
    if (this.i !== this.b.length) this.fail('trailing bytes after the DER');
  }
}

// ecdsaRaw converts an ASN.1 ECDSA signature to r||s, each left-padded to
// size bytes: the form WebCrypto's ECDSA verify takes.
export function ecdsaRaw(sig, size, what) {
  const outer = new Reader(sig, what);
  const seq = new Reader(outer.read(SEQUENCE), what);
  outer.done();
  const r = scalar(seq.read(INTEGER), size, `${what}: r`);
  const s = scalar(seq.read(INTEGER), size, `${what}: s`);
  seq.done();
  const out = new Uint8Array(2 * size);
  out.set(r, size - r.length);
  out.set(s, 2 * size - s.length);
  return out;
}

// scalar is a DER INTEGER's magnitude without its sign byte.
function scalar(v, size, what) {
  if (v.length === 0) throw new Fail(`${what}: empty integer`);
  if (v[0] & 0x80) throw new Fail(`${what}: negative integer`);
  if (v.length > 1 && v[0] === 0 && !(v[1] & 0x80)) throw new Fail(`${what}: non-minimal integer`);
  const m = v[0] === 0 ? v.subarray(1) : v;
  if (m.length > size) throw new Fail(`${what}: ${m.length} bytes, more than the curve's ${size}`);
  return m;
}

// spkiCurve is the curve of an ECDSA SubjectPublicKeyInfo:
// {name, hash, size}.
export function spkiCurve(der, what) {
  const outer = new Reader(der, what);
  const spki = new Reader(outer.read(SEQUENCE), what);
  outer.done();
  const alg = new Reader(spki.read(SEQUENCE), what);
  spki.read(BIT_STRING);
  spki.done();
  const algOID = toHex(alg.read(OID));
  if (algOID !== ecPublicKey) throw new Fail(`${what}: not an elliptic-curve key (algorithm OID ${algOID})`);
  const curveOID = toHex(alg.read(OID));
  const curve = curves.get(curveOID);
  if (!curve) throw new Fail(`${what}: unsupported curve (OID ${curveOID}), want P-256, P-384 or P-521`);
  return curve;
}
