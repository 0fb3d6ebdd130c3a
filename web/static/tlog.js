// The hub's transparency log: a C2SP signed note carrying a tlog-checkpoint
// (origin, size, base64 root hash), signed with Ed25519 as
// golang.org/x/mod/sumdb/note does, and RFC 6962/9162 inclusion proofs as
// golang.org/x/mod/sumdb/tlog makes them (Potluck's translog package).
// Sizes and indexes are BigInt throughout: a log may outgrow 2^53.

import {
  Fail, bytesOf, concat, decodeUTF8, encodeUTF8, equal, fromBase64, run, sha256, subtle, toHex, typeName,
} from './bytes.js';

// maxSize bounds a checkpoint's size, as translog.ParseCheckpoint does.
const maxSize = 1n << 62n;

// space is what Go's unicode.IsSpace accepts; a note name has none.
const space = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;

function validName(name) {
  return name !== '' && !space.test(name) && !name.includes('+');
}

function hex8(n) {
  return n.toString(16).padStart(8, '0');
}

// keyHash is a note key's ID: the first 4 bytes, big-endian, of
// SHA-256(name || "\n" || key), key starting with its algorithm byte.
async function keyHash(name, key) {
  const h = await sha256(concat(encodeUTF8(name + '\n'), key));
  return new DataView(h.buffer).getUint32(0);
}

// parseVerifierKey reads "name+hash+base64(0x01||pubkey)".
async function parseVerifierKey(vkey) {
  if (typeof vkey !== 'string') throw new Fail(`log key: want a verifier key, got ${typeName(vkey)}`);
  const i = vkey.indexOf('+');
  const j = vkey.indexOf('+', i + 1);
  if (i < 0 || j < 0) throw new Fail('log key: want name+hash+key');
  const name = vkey.slice(0, i);
  const hash16 = vkey.slice(i + 1, j);
  const key = fromBase64(vkey.slice(j + 1), 'log key');
  if (!validName(name) || !/^[0-9a-fA-F]{8}$/.test(hash16) || key.length === 0) {
    throw new Fail('log key: malformed verifier key');
  }
  const hash = parseInt(hash16, 16);
  if ((await keyHash(name, key)) !== hash) throw new Fail('log key: the key hash does not match the key');
  if (key[0] !== 1 || key.length !== 33) throw new Fail('log key: not an Ed25519 key');
  let pub;
  try {
    pub = await subtle().importKey('raw', key.subarray(1), { name: 'Ed25519' }, false, ['verify']);
  } catch (e) {
    throw new Fail(`log key: this browser's WebCrypto refused Ed25519 (Chromium 137 or later has it): ${e.message}`);
  }
  return { name, hash, pub, id: `${name}+${hex8(hash)}` };
}

// verifyCheckpoint checks a signed checkpoint (text or bytes) against the
// log's verifier key and origin. It resolves to {ok, reason, size, rootHash}
// with size a BigInt and rootHash 32 bytes. As note.Open does, signatures
// by other keys (witnesses) are skipped, but one by the log key that does
// not verify fails the check.
export async function verifyCheckpoint(noteText, verifierKey, origin) {
  return run(async () => {
    const msg = typeof noteText === 'string' ? noteText : decodeUTF8(bytesOf(noteText, 'checkpoint'), 'checkpoint');
    const { text, sigs } = splitNote(msg);
    const v = await parseVerifierKey(verifierKey);
    const others = [];
    let signed = false;
    for (const line of sigs) {
      const s = parseSignature(line);
      if (s.name !== v.name || s.hash !== v.hash) {
        others.push(`${s.name}+${hex8(s.hash)}`);
        continue;
      }
      if (signed) continue;
      const ok = s.sig.length === 64 && await subtle().verify({ name: 'Ed25519' }, v.pub, s.sig, encodeUTF8(text));
      if (!ok) throw new Fail(`the checkpoint's signature by the log key ${v.id} does not verify`);
      signed = true;
    }
    if (!signed) {
      const by = others.length ? `; it is signed by ${others.join(', ')}` : '';
      throw new Fail(`the checkpoint is not signed by the log key ${v.id}${by}`);
    }
    const cp = parseCheckpoint(text, origin);
    return {
      ok: true,
      reason: `signed by the log key ${v.id}: ${cp.size} entries, root ${toHex(cp.rootHash)}`,
      size: cp.size,
      rootHash: cp.rootHash,
    };
  });
}

// splitNote splits a signed note into its text (ending in a newline) and
// its signature lines, checking note.Open's rules of form.
function splitNote(msg) {
  for (let i = 0; i < msg.length; i++) {
    const c = msg.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) throw new Fail(`checkpoint: malformed note: control character 0x${c.toString(16)}`);
  }
  const split = msg.lastIndexOf('\n\n');
  if (split < 0) throw new Fail('checkpoint: malformed note: no blank line before the signatures');
  const sigs = msg.slice(split + 2);
  if (sigs === '' || !sigs.endsWith('\n')) throw new Fail('checkpoint: malformed note: no signature lines');
  const lines = sigs.slice(0, -1).split('\n');
  if (lines.length > 100) throw new Fail('checkpoint: malformed note: more than 100 signatures');
  return { text: msg.slice(0, split + 1), sigs: lines };
}

// parseSignature reads "— name base64(keyhash||signature)".
function parseSignature(line) {
  if (!line.startsWith('\u2014 ')) throw new Fail(`checkpoint: malformed signature line ${JSON.stringify(line.slice(0, 40))}`);
  const rest = line.slice(2);
  const sp = rest.indexOf(' ');
  const name = sp < 0 ? rest : rest.slice(0, sp);
  const b64 = sp < 0 ? '' : rest.slice(sp + 1);
  const raw = fromBase64(b64, `checkpoint: signature by ${name}`);
  if (!validName(name) || b64 === '' || raw.length < 5) throw new Fail(`checkpoint: malformed signature by ${name}`);
  return { name, hash: new DataView(raw.buffer).getUint32(0), sig: raw.subarray(4) };
}

// parseCheckpoint reads a checkpoint's body: origin, size, root hash, and
// any extension lines, which are ignored.
function parseCheckpoint(text, origin) {
  const lines = text.split('\n');
  if (lines.length < 4) throw new Fail('checkpoint: too few lines');
  const [got, size, root] = lines;
  if (got === '') throw new Fail('checkpoint: empty origin');
  if (got !== origin) throw new Fail(`checkpoint origin ${JSON.stringify(got)}, want ${JSON.stringify(origin)}`);
  if (!/^[0-9]+$/.test(size) || BigInt(size) > maxSize) throw new Fail(`checkpoint: size ${JSON.stringify(size)} is not a number up to 2^62`);
  const rootHash = fromBase64(root, 'checkpoint: root hash');
  if (rootHash.length !== 32) throw new Fail(`checkpoint: root hash of ${rootHash.length} bytes, want 32`);
  return { size: BigInt(size), rootHash };
}

// recordHash is the leaf hash of an entry: SHA-256(0x00 || entry).
export async function recordHash(entry) {
  return sha256(concat(new Uint8Array([0]), bytesOf(entry, 'entry')));
}

// nodeHash is an interior node's hash: SHA-256(0x01 || left || right).
async function nodeHash(left, right) {
  return sha256(concat(new Uint8Array([1]), left, right));
}

// toIndex reads an index or size: a BigInt, a safe-integer Number or a
// decimal string (for values past 2^53 that JSON numbers cannot carry).
function toIndex(v, what) {
  if (typeof v === 'bigint' && v >= 0n) return v;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'string' && /^[0-9]+$/.test(v)) return BigInt(v);
  throw new Fail(`${what}: ${typeof v === 'string' ? JSON.stringify(v) : String(v)} is not a non-negative integer (past 2^53, pass a BigInt or a decimal string)`);
}

// proofLength is how many hashes prove entry index in a tree of size
// entries: the steps of RFC 9162 §2.1.3.2 until sn reaches 0.
export function proofLength(index, size) {
  let fn = toIndex(index, 'index');
  let sn = toIndex(size, 'size') - 1n;
  let n = 0;
  while (sn > 0n) {
    if ((fn & 1n) === 0n && fn === sn) {
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    }
    fn >>= 1n;
    sn >>= 1n;
    n++;
  }
  return n;
}

// verifyInclusion checks that entry (bytes, or a string for its UTF-8) is
// at index in the tree a verified checkpoint ({size, rootHash}) commits
// to. proofHashes are the audit path, leaf to root, each 32 bytes or
// standard base64. It resolves to {ok, reason}.
export async function verifyInclusion(entryBytes, index, proofHashes, checkpoint) {
  return run(async () => verifyInclusionHash(await recordHash(entryBytes), index, proofHashes, checkpoint));
}

// verifyInclusionHash is verifyInclusion given the entry's leaf hash.
export async function verifyInclusionHash(leafHash, index, proofHashes, checkpoint) {
  return run(async () => {
    if (!checkpoint || !(checkpoint.rootHash instanceof Uint8Array) || checkpoint.rootHash.length !== 32) {
      throw new Fail('checkpoint: no 32-byte root hash');
    }
    const size = toIndex(checkpoint.size, 'checkpoint size');
    const i = toIndex(index, 'index');
    if (i >= size) throw new Fail(`entry ${i} is not in a tree of ${size} entries`);
    if (!Array.isArray(proofHashes)) throw new Fail(`proof: want a list of hashes, got ${typeName(proofHashes)}`);
    const proof = proofHashes.map((p, k) => {
      const h = typeof p === 'string' ? fromBase64(p, `proof hash ${k}`) : p;
      if (!(h instanceof Uint8Array) || h.length !== 32) throw new Fail(`proof hash ${k}: want 32 bytes`);
      return h;
    });
    const want = proofLength(i, size);
    if (proof.length !== want) {
      throw new Fail(`the proof has ${proof.length} hashes; entry ${i} of a tree of ${size} entries needs ${want}`);
    }
    if (!(leafHash instanceof Uint8Array) || leafHash.length !== 32) throw new Fail('leaf hash: want 32 bytes');
    const root = await foldProof(leafHash, i, size, proof);
    if (!equal(root, checkpoint.rootHash)) {
      throw new Fail(`entry ${i}'s proof leads to root ${toHex(root)}, the checkpoint's root is ${toHex(checkpoint.rootHash)}`);
    }
    return { ok: true, reason: `entry ${i} is in the log's tree of ${size} entries (${proof.length} proof hashes)` };
  });
}

// foldProof hashes the leaf up the audit path (RFC 9162 §2.1.3.2).
async function foldProof(leaf, index, size, proof) {
  let fn = index;
  let sn = size - 1n;
  let r = leaf;
  for (const p of proof) {
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return r;
}
