// Test helper: runs the calls the Go test lists at /calls.json against
// verify.js's exports and publishes the results as JSON in
// window.unitResults. In the calls, {"$b64": "..."} stands for bytes and
// {"$big": "..."} for a BigInt; in the results, bytes are hex and BigInts
// decimal strings. A call that throws yields {"threw": message}: the API
// promises never to.
import * as verify from '/static/verify.js';

function revive(key, v) {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    if ('$b64' in v) return Uint8Array.from(atob(v.$b64), (c) => c.charCodeAt(0));
    if ('$big' in v) return BigInt(v.$big);
  }
  return v;
}

function plain(key, v) {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return Array.from(v, (b) => b.toString(16).padStart(2, '0')).join('');
  return v;
}

const calls = JSON.parse(await (await fetch('/calls.json')).text(), revive);
const results = [];
for (const c of calls) {
  try {
    results.push(await verify[c.fn](...c.args));
  } catch (e) {
    results.push({ threw: `${c.fn}: ${e && e.message ? e.message : String(e)}` });
  }
}
window.unitResults = JSON.stringify(results, plain);
document.body.dataset.state = 'done';
