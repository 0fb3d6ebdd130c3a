// release.js runs verify.js's checks on a release page when it loads and
// shows each outcome, passed or failed with its reason (checklist.js). The
// page provides:
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
import { failedAll, pageJSON, showChecks } from './checklist.js';

function pageData() {
  const d = pageJSON('potluck-verify');
  if (typeof d !== 'object') return d; // verifyRelease reports why it is no object
  const shown = document.querySelectorAll('[data-potluck-file]');
  if (shown.length) {
    d.files = Array.from(shown, (e) => ({ path: e.dataset.potluckFile, sha256: e.dataset.sha256 }));
  }
  return d;
}

showChecks(await verifyRelease(pageData()).catch((e) => failedAll(checks, e)));
