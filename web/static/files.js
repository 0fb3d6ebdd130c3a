// The files a release page lists against the signed statement: the
// statement's resources must be well formed and in canonical order, its
// subject digest must be their root digest (signing.RootDigest: SHA-256 of
// the raw digests concatenated in order), and the listed files must be
// exactly the signed ones with the signed digests (signing.Verified.Match).

import { Fail, concat, encodeUTF8, equal, fromHex, run, sha256, toHex, typeName } from './bytes.js';

// maxProblems bounds the differences a reason lists, as signing's Match does.
const maxProblems = 10;

// checkFiles checks files ([{path, sha256}], sha256 in hex, as a
// potluck.File) against a statement verifyBundle returned. It resolves to
// {ok, reason}; the reason names every file that differs, up to ten.
export async function checkFiles(statement, files) {
  return run(async () => {
    const signed = readResources(statement);
    const root = readRoot(statement);
    const got = await sha256(concat(...signed.map((r) => r.digest)));
    if (!equal(got, root)) {
      const name = statement.subject[0].name;
      throw new Fail(`statement subject ${JSON.stringify(name)} has root sha256 ${toHex(root)}, its resources hash to ${toHex(got)}`);
    }
    if (!Array.isArray(files)) throw new Fail(`files: want a list, got ${typeName(files)}`);
    const problems = match(signed, files);
    if (problems.length > maxProblems) {
      const more = problems.length - maxProblems;
      problems.splice(maxProblems, more, `and ${more} more`);
    }
    if (problems.length) throw new Fail(problems.join('; '));
    return { ok: true, reason: `the ${files.length} listed files are the signed ones (root sha256 ${toHex(root)})` };
  });
}

// match lists how files differ from the signed resources.
function match(signed, files) {
  const byName = new Map(signed.map((r) => [r.name, r.digest]));
  const seen = new Set();
  const problems = [];
  for (const [i, f] of files.entries()) {
    if (f === null || typeof f !== 'object' || typeof f.path !== 'string') {
      problems.push(`listed file ${i}: no path`);
      continue;
    }
    const name = f.path;
    let digest;
    try {
      digest = fromHex(f.sha256, 32, `file ${name}: listed sha256`);
    } catch (e) {
      problems.push(e.message);
      seen.add(name);
      continue;
    }
    const want = byName.get(name);
    if (seen.has(name)) {
      problems.push(`file ${name}: listed twice`);
    } else if (!want) {
      problems.push(`file ${name}: listed but not signed (sha256 ${toHex(digest)})`);
    } else if (!equal(want, digest)) {
      problems.push(`file ${name}: sha256 ${toHex(want)} in the statement, ${toHex(digest)} listed`);
    }
    seen.add(name);
  }
  for (const r of signed) {
    if (!seen.has(r.name)) problems.push(`file ${r.name}: signed (sha256 ${toHex(r.digest)}) but not listed`);
  }
  return problems;
}

// readResources reads the predicate's resources: sha256 digests of files
// with clean relative names, in canonical order without duplicates.
function readResources(st) {
  const rs = st && st.predicate && st.predicate.resources;
  if (!Array.isArray(rs) || rs.length === 0) throw new Fail('statement: no resources');
  const out = rs.map((r, i) => {
    if (r === null || typeof r !== 'object') throw new Fail(`statement: resource ${i} is ${typeName(r)}`);
    checkName(r.name);
    if (r.algorithm !== 'sha256') {
      throw new Fail(`statement: resource ${r.name}: algorithm ${JSON.stringify(r.algorithm)}, want "sha256"`);
    }
    return { name: r.name, digest: fromHex(r.digest, 32, `statement: resource ${r.name}: digest`) };
  });
  for (let i = 1; i < out.length; i++) {
    if (comparePaths(out[i - 1].name, out[i].name) >= 0) {
      throw new Fail(`statement: resources ${out[i - 1].name} and ${out[i].name} are not in canonical order or duplicated`);
    }
  }
  return out;
}

// readRoot is the statement's subject digest.
function readRoot(st) {
  const s = st && Array.isArray(st.subject) && st.subject.length === 1 ? st.subject[0] : null;
  if (!s || !s.digest) throw new Fail('statement: want exactly one subject with a digest');
  return fromHex(s.digest.sha256, 32, `statement: subject ${JSON.stringify(s.name)}: sha256`);
}

// checkName refuses names that are not clean relative slash-separated
// paths inside the model (signing's checkName).
function checkName(name) {
  if (typeof name !== 'string') throw new Fail(`statement: resource name is ${typeName(name)}`);
  const bad = name === '' || name.includes('\0') || !name.isWellFormed() ||
    name.split('/').some((c) => c === '' || c === '.' || c === '..');
  if (bad) throw new Fail(`statement: resource name ${JSON.stringify(name)} is not a clean relative path`);
}

// comparePaths orders paths as signing.ComparePaths does: byte by byte in
// UTF-8, except that '/' sorts before every other byte ("a/b" < "a-b").
export function comparePaths(a, b) {
  const x = encodeUTF8(a);
  const y = encodeUTF8(b);
  for (let i = 0; i < x.length && i < y.length; i++) {
    if (x[i] === y[i]) continue;
    if (x[i] === 0x2f) return -1;
    if (y[i] === 0x2f) return 1;
    return x[i] < y[i] ? -1 : 1;
  }
  return Math.sign(x.length - y.length);
}
