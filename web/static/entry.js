// entry.js checks a log entry's page in the browser, as release.js does a
// release's: that the checkpoint is signed by the hub's log key, and that
// the entry's bytes are in the tree that checkpoint commits to. The page
// provides:
//
//   <script type="application/json" id="potluck-entry">
//     {"receipt": {"index": N, "entry": base64, "proof": [base64],
//                  "checkpoint": base64},
//      "log_origin": "...", "log_key": "..."}
//   </script>
//   <ul id="potluck-checks"></ul>, <p id="potluck-verdict"></p> (checklist.js)
//   <pre id="potluck-entry-text"></pre>   (optional: the entry as the hub
//                                          renders it; replaced by the text
//                                          of the bytes checked, once they
//                                          are proved in the log)
//   <script type="module" src="/static/entry.js"></script>

import { Fail, decodeUTF8, fromBase64, run } from './bytes.js';
import { failedAll, pageJSON, showChecks } from './checklist.js';
import { verifyCheckpoint, verifyInclusion } from './tlog.js';

// entryChecks names the checks verifyEntry runs, in order.
export const entryChecks = [
  { name: 'checkpoint', title: "Log checkpoint signed by the hub's log key" },
  { name: 'inclusion', title: 'Entry included in the log' },
];

// verifyEntry runs the checks on the page's data and resolves to
// {ok, checks: [{name, title, ok, reason}], entry}, entry being the
// checked bytes when the inclusion check passed.
export async function verifyEntry(d) {
  let entry;
  const out = {};
  out.checkpoint = await run(async () => {
    const r = receiptOf(d);
    return verifyCheckpoint(fromBase64(r.checkpoint, 'checkpoint'), d.log_key, d.log_origin);
  });
  out.inclusion = out.checkpoint.ok
    ? await run(async () => {
      const r = receiptOf(d);
      entry = fromBase64(r.entry, 'entry');
      return verifyInclusion(entry, r.index, r.proof ?? [], out.checkpoint);
    })
    : { ok: false, reason: 'not checked: the checkpoint did not verify' };
  const checks = entryChecks.map((c) => ({ ...c, ok: out[c.name].ok === true, reason: String(out[c.name].reason) }));
  const ok = checks.every((c) => c.ok);
  return { ok, checks, entry: ok ? entry : undefined };
}

function receiptOf(d) {
  if (typeof d !== 'object') throw new Fail(`page data: not a JSON object: ${JSON.stringify(String(d).slice(0, 40))}`);
  if (d.receipt === null || typeof d.receipt !== 'object') throw new Fail('page data: no receipt');
  return d.receipt;
}

const result = await verifyEntry(pageJSON('potluck-entry')).catch((e) => failedAll(entryChecks, e));
showChecks(result);
const shown = document.getElementById('potluck-entry-text');
if (shown && result.entry) {
  let text;
  try {
    text = JSON.stringify(JSON.parse(decodeUTF8(result.entry, 'entry')), null, 2);
  } catch {
    text = new TextDecoder().decode(result.entry);
  }
  shown.textContent = text;
  shown.dataset.verified = 'true';
}
