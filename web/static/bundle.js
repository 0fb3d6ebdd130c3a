// The publisher's signature: a Sigstore bundle v0.3 holding a DSSE envelope
// over an in-toto statement with the model-signing v1.0 predicate, as
// Potluck's signing package writes it (signing/format.go, sign.go), checked
// with WebCrypto's ECDSA against the publisher's PEM public key.

import {
  Fail, bytesOf, concat, decodeUTF8, encodeUTF8, fromBase64, run, sha256, shorten, subtle, toBase64,
  toHex, typeName,
} from './bytes.js';
import { ecdsaRaw, spkiCurve } from './der.js';

const mediaTypes = [
  'application/vnd.dev.sigstore.bundle.v0.3+json',
  'application/vnd.dev.sigstore.bundle+json;version=0.3',
];
const payloadType = 'application/vnd.in-toto+json';
const statementType = 'https://in-toto.io/Statement/v1';
const predicateType = 'https://model_signing/signature/v1.0';

// importPublicKey reads a PEM public key (the first PUBLIC KEY block; text
// around it is ignored) into {key, curve, hint}. hint is the hex SHA-256 of
// the key's canonical PEM, the bundle's and the log's name for it
// (signing.PublicKey.Hint).
export async function importPublicKey(pem) {
  if (typeof pem !== 'string') throw new Fail(`publisher key: want PEM text, got ${typeName(pem)}`);
  const m = /-----BEGIN ([^\n-]*)-----\r?\n([\s\S]*?)-----END \1-----/.exec(pem);
  if (!m) throw new Fail('publisher key: no PEM block');
  if (m[1] !== 'PUBLIC KEY') throw new Fail(`publisher key: PEM block "${m[1]}", want "PUBLIC KEY"`);
  const der = fromBase64(m[2].replace(/\s+/g, ''), 'publisher key: PEM body');
  const curve = spkiCurve(der, 'publisher key');
  let key;
  try {
    key = await subtle().importKey('spki', der, { name: 'ECDSA', namedCurve: curve.name }, true, ['verify']);
  } catch (e) {
    throw new Fail(`publisher key: WebCrypto refused the ${curve.name} key: ${e.message}`);
  }
  const canonical = new Uint8Array(await subtle().exportKey('spki', key));
  return { key, curve, hint: toHex(await sha256(encodeUTF8(pemEncode(canonical)))) };
}

// publicKeyHint is the hint of a PEM public key (see importPublicKey).
export async function publicKeyHint(pem) {
  return (await importPublicKey(pem)).hint;
}

// pemEncode writes a PUBLIC KEY block as Go's pem.EncodeToMemory does.
function pemEncode(der) {
  const lines = toBase64(der).match(/.{1,64}/g) || [];
  return `-----BEGIN PUBLIC KEY-----\n${lines.join('\n')}\n-----END PUBLIC KEY-----\n`;
}

// pae is DSSE's pre-authentication encoding, the bytes the signature covers:
// "DSSEv1 <len(type)> <type> <len(body)> <body>", lengths in bytes.
export function pae(type, body) {
  const t = encodeUTF8(type);
  return concat(encodeUTF8(`DSSEv1 ${t.length} `), t, encodeUTF8(` ${body.length} `), body);
}

// verifyBundle checks the DSSE signature of a bundle (JSON text or its
// bytes) with the publisher's PEM public key (ECDSA P-256 with SHA-256,
// P-384 with SHA-384 or P-521 with SHA-512), then reads the signed
// statement. It resolves to {ok, reason, statement, keyHint}; statement is
// the parsed in-toto statement, given only when the signature verifies.
export async function verifyBundle(bundleJSON, publicKeyPEM) {
  return run(async () => {
    const env = readEnvelope(bundleJSON);
    const pub = await importPublicKey(publicKeyPEM);
    const msg = pae(env.payloadType, env.payload);
    const problems = [];
    for (const [k, s] of env.signatures.entries()) {
      let raw;
      try {
        raw = ecdsaRaw(fromBase64(s && s.sig, `signature ${k}`), pub.curve.size, `signature ${k}`);
      } catch (e) {
        if (!(e instanceof Fail)) throw e;
        problems.push(e.message);
        continue;
      }
      if (await subtle().verify({ name: 'ECDSA', hash: pub.curve.hash }, pub.key, raw, msg)) {
        const statement = parseStatement(env.payload);
        const reason = `the DSSE signature verifies with the publisher's ${pub.curve.name} key (hint ${pub.hint})`;
        return { ok: true, reason, statement, keyHint: pub.hint };
      }
    }
    let reason = `the DSSE signature does not verify with the publisher's ${pub.curve.name} key (hint ${pub.hint})`;
    if (env.hint && env.hint !== pub.hint) reason += `; the bundle names key hint ${env.hint}`;
    if (problems.length) reason += `; ${problems.join('; ')}`;
    return { ok: false, reason, keyHint: pub.hint };
  });
}

// readEnvelope parses a bundle and returns its DSSE envelope, the payload
// decoded, and the key hint it gives.
function readEnvelope(bundleJSON) {
  const text = typeof bundleJSON === 'string' ? bundleJSON : decodeUTF8(bytesOf(bundleJSON, 'bundle'), 'bundle');
  let b;
  try {
    b = JSON.parse(text);
  } catch (e) {
    throw new Fail(`bundle: not JSON: ${e.message}`);
  }
  if (b === null || typeof b !== 'object') throw new Fail(`bundle: want a JSON object, got ${typeName(b)}`);
  if (!mediaTypes.includes(b.mediaType)) {
    throw new Fail(`bundle: mediaType ${JSON.stringify(b.mediaType)}, want "${mediaTypes[0]}"`);
  }
  const env = b.dsseEnvelope;
  if (env === null || typeof env !== 'object') throw new Fail('bundle: no dsseEnvelope');
  if (!Array.isArray(env.signatures) || env.signatures.length === 0) throw new Fail('bundle: dsseEnvelope has no signatures');
  if (env.payloadType !== payloadType) {
    throw new Fail(`bundle: payloadType ${JSON.stringify(env.payloadType)}, want "${payloadType}"`);
  }
  const vm = b.verificationMaterial;
  const hint = vm && vm.publicKey && typeof vm.publicKey.hint === 'string' ? vm.publicKey.hint : '';
  return {
    payloadType: env.payloadType,
    payload: fromBase64(env.payload, 'bundle: dsseEnvelope.payload'),
    signatures: env.signatures,
    hint,
  };
}

// parseStatement reads the signed in-toto statement and checks its fixed
// fields, as signing/statement.go checkStatement does.
function parseStatement(payload) {
  let st;
  try {
    st = JSON.parse(decodeUTF8(payload, 'statement'));
  } catch (e) {
    if (e instanceof Fail) throw e;
    throw new Fail(`statement: not JSON: ${e.message}`);
  }
  const fail = (msg) => {
    throw new Fail(`statement: ${msg}`);
  };
  if (st === null || typeof st !== 'object') fail(`want a JSON object, got ${typeName(st)}`);
  if (st._type !== statementType) fail(`_type ${JSON.stringify(st._type)}, want "${statementType}"`);
  if (st.predicateType !== predicateType) {
    fail(`predicateType ${JSON.stringify(shorten(String(st.predicateType)))}, want "${predicateType}"`);
  }
  if (!Array.isArray(st.subject) || st.subject.length !== 1) fail('want exactly one subject');
  const ser = st.predicate && st.predicate.serialization;
  if (!ser || ser.method !== 'files') fail('serialization method is not "files"');
  if (ser.hash_type !== 'sha256') fail('serialization hash_type is not "sha256"');
  return st;
}
