// release.js runs verify.js's checks on a release page when it loads and
// shows each outcome, passed or failed with its reason. The page provides:
//
//   <script type="application/json" id="potluck-verify">{web.VerifyData}</script>
//   <ul id="potluck-checks"></ul>        (optional; made at the end if absent;
//                                         may hold <li data-check="NAME"> to fill)
//   <p id="potluck-verdict"></p>          (optional: a one-line summary)
//   <script type="module" src="/static/release.js"></script>
//
// Files the page shows, marked <… data-potluck-file="PATH" data-sha256="HEX">,
// are what the files check compares with the signature; without such marks,
// the release's files in the data are. When done, the list carries
// data-state="done" and data-ok="true" or "false"; each item carries
// data-check, data-ok and the classes "check" and "pass" or "fail".
// Only textContent is written: reasons quote file names from the data.

import { checks, verifyRelease } from './verify.js';

function pageData() {
  const el = document.getElementById('potluck-verify');
  const text = el ? el.textContent : '';
  let d;
  try {
    d = JSON.parse(text);
  } catch {
    return text; // verifyRelease reports why it is not JSON
  }
  if (d === null || typeof d !== 'object') return text; // nor why it is no object
  const shown = document.querySelectorAll('[data-potluck-file]');
  if (shown.length) {
    d.files = Array.from(shown, (e) => ({ path: e.dataset.potluckFile, sha256: e.dataset.sha256 }));
  }
  return d;
}

function span(cls, text) {
  const s = document.createElement('span');
  s.className = cls;
  s.textContent = text;
  return s;
}

function render(result) {
  let list = document.getElementById('potluck-checks');
  if (!list) {
    list = document.createElement('ul');
    list.id = 'potluck-checks';
    document.body.append(list);
  }
  for (const c of result.checks) {
    let li = list.querySelector(`li[data-check="${c.name}"]`);
    if (!li) {
      li = document.createElement('li');
      li.dataset.check = c.name;
      list.append(li);
    }
    li.className = `check ${c.ok ? 'pass' : 'fail'}`;
    li.dataset.ok = String(c.ok);
    li.replaceChildren(span('check-status', c.ok ? 'passed' : 'failed'), ' ',
      span('check-title', c.title), ': ', span('check-reason', c.reason));
  }
  const verdict = document.getElementById('potluck-verdict');
  if (verdict) {
    const failed = result.checks.filter((c) => !c.ok).length;
    verdict.textContent = failed === 0
      ? `All ${result.checks.length} checks passed in your browser.`
      : `${failed} of ${result.checks.length} checks failed in your browser.`;
  }
  list.dataset.ok = String(result.ok);
  list.dataset.state = 'done';
}

render(await verifyRelease(pageData()).catch((e) => ({
  ok: false,
  checks: checks.map((c) => ({ ...c, ok: false, reason: `internal error: ${e.message}` })),
})));
