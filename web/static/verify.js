// verify.js checks a Potluck release in the browser, with WebCrypto only:
// the publisher's signature, the files against the signed statement, the
// log's signed checkpoint, the release's inclusion in the log, and that the
// log entry names this release. Nothing the server says about the outcome
// is trusted; every check is recomputed here from the data the page embeds.
//
// An ES module with no dependencies, no eval and no inline script, so a
// page may load it under "script-src 'self'". Every function resolves to a
// result object and never rejects: bad input is a failed check with a
// reason. It needs a secure context (HTTPS, or localhost) for WebCrypto,
// and Ed25519 in WebCrypto (Chromium 137 or later).

import { Fail, decodeUTF8, fromBase64, run, sha256, toHex, typeName } from './bytes.js';
import { publicKeyHint, verifyBundle } from './bundle.js';
import { checkFiles } from './files.js';
import { verifyCheckpoint, verifyInclusion } from './tlog.js';

export { verifyBundle, publicKeyHint, pae } from './bundle.js';
export { checkFiles, comparePaths } from './files.js';
export { verifyCheckpoint, verifyInclusion, verifyInclusionHash, recordHash, proofLength } from './tlog.js';

// checks names the checks verifyRelease runs, in order, with a title a
// page may show.
export const checks = [
  { name: 'signature', title: "Publisher's signature" },
  { name: 'files', title: 'Files match the signed statement' },
  { name: 'checkpoint', title: "Log checkpoint signed by the hub's log key" },
  { name: 'inclusion', title: 'Release entry included in the log' },
  { name: 'entry', title: 'Log entry names this release, bundle and key' },
];

// verifyRelease runs every check on a release page's data, given as JSON
// text or the parsed object (web.VerifyData in Go):
//
//   {release: {cid, files: [{path, sha256}], bundle: base64,
//              receipt: {index, entry: base64, proof: [base64], checkpoint: base64}},
//    publisher_key: PEM, log_origin: string, log_key: note verifier key,
//    files: [{path, sha256}]  (optional: the files the page shows, when
//                              they are not release.files)}
//
// It resolves to {ok, checks: [{name, title, ok, reason}]}, ok when every
// check passed. A check that needs an earlier one's result fails as "not
// checked" when that one failed.
export async function verifyRelease(data) {
  const out = {};
  const d = await run(async () => ({ ok: true, value: readData(data) }));
  if (!d.ok) {
    for (const c of checks) out[c.name] = { ok: false, reason: `page data: ${d.reason}` };
    return result(out);
  }
  const { release, receipt } = d.value;
  let bundle;
  out.signature = await run(async () => {
    bundle = fromBase64(release.bundle, 'release bundle');
    return verifyBundle(bundle, d.value.publisher_key);
  });
  out.files = out.signature.ok
    ? await checkFiles(out.signature.statement, d.value.files || release.files)
    : notChecked('the signature did not verify');
  out.checkpoint = await run(async () => {
    needReceipt(receipt);
    const cp = fromBase64(receipt.checkpoint, 'receipt checkpoint');
    return verifyCheckpoint(cp, d.value.log_key, d.value.log_origin);
  });
  out.inclusion = out.checkpoint.ok
    ? await run(async () => verifyInclusion(fromBase64(receipt.entry, 'receipt entry'), receipt.index, receipt.proof ?? [], out.checkpoint))
    : notChecked('the checkpoint did not verify');
  out.entry = await run(async () => checkEntry(release, receipt, bundle, d.value.publisher_key));
  return result(out);
}

function notChecked(why) {
  return { ok: false, reason: `not checked: ${why}` };
}

function result(out) {
  const list = checks.map((c) => ({ ...c, ok: out[c.name].ok === true, reason: String(out[c.name].reason) }));
  return { ok: list.every((c) => c.ok), checks: list };
}

// readData parses the page data and checks its shape.
function readData(data) {
  let d = data;
  if (typeof data === 'string') {
    try {
      d = JSON.parse(data);
    } catch (e) {
      throw new Fail(`not JSON: ${e.message}`);
    }
  }
  if (d === null || typeof d !== 'object') throw new Fail(`want an object, got ${typeName(d)}`);
  if (d.release === null || typeof d.release !== 'object') throw new Fail('no release');
  return { ...d, receipt: d.release.receipt };
}

function needReceipt(receipt) {
  if (receipt === null || typeof receipt !== 'object') throw new Fail('the release has no log receipt');
}

// checkEntry checks that the log entry the receipt proves is this
// release's: its CID, the SHA-256 of its bundle bytes and the hint of the
// publisher's key, as the hub logs them (potluck.ReleaseEntry).
async function checkEntry(release, receipt, bundle, publisherKey) {
  needReceipt(receipt);
  if (!bundle) throw new Fail('not checked: the release has no readable bundle');
  const text = decodeUTF8(fromBase64(receipt.entry, 'receipt entry'), 'log entry');
  let e;
  try {
    e = JSON.parse(text);
  } catch (err) {
    throw new Fail(`log entry: not JSON: ${err.message}`);
  }
  if (e === null || typeof e !== 'object') throw new Fail('log entry: not a JSON object');
  if (e.type !== 'release') throw new Fail(`log entry ${receipt.index} is a ${JSON.stringify(e.type)} entry, not a release's`);
  const digest = toHex(await sha256(bundle));
  const hint = await publicKeyHint(publisherKey);
  const problems = [];
  if (e.release !== release.cid) {
    problems.push(`the log entry is for release ${e.release}, the page shows ${release.cid}`);
  }
  if (e.bundle !== digest) {
    problems.push(`the log entry records bundle sha256 ${e.bundle}, the page's bundle has ${digest}`);
  }
  if (e.key !== hint) {
    problems.push(`the log entry records signing key ${e.key}, the publisher key's hint is ${hint}`);
  }
  if (problems.length) throw new Fail(problems.join('; '));
  return { ok: true, reason: `log entry ${receipt.index} records release ${e.release}, this bundle (sha256 ${digest}) and this key` };
}
