// checklist.js shows the outcome of checks on a page, for release.js and
// entry.js: one item per check in <ul id="potluck-checks"> (made at the
// end of the body if absent; it may hold <li data-check="NAME"> to fill),
// passed or failed with its reason, and a one-line summary in
// <p id="potluck-verdict"> when the page has one. When done, the list
// carries data-state="done" and data-ok="true" or "false"; each item
// carries data-check, data-ok and the classes "check" and "pass" or
// "fail". Only textContent is written: reasons quote data from the page.

// pageJSON is the text of the page's <script type="application/json">
// element with this id, parsed; the text itself when it is not a JSON
// object, for the checks to say why.
export function pageJSON(id) {
  const el = document.getElementById(id);
  const text = el ? el.textContent : '';
  let d;
  try {
    d = JSON.parse(text);
  } catch {
    return text;
  }
  return d !== null && typeof d === 'object' ? d : text;
}

function span(cls, text) {
  const s = document.createElement('span');
  s.className = cls;
  s.textContent = text;
  return s;
}

// showChecks renders {ok, checks: [{name, title, ok, reason}]}.
export function showChecks(result) {
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

// failedAll is every check failed with the same reason, for an error the
// checks themselves did not catch.
export function failedAll(checks, e) {
  return { ok: false, checks: checks.map((c) => ({ ...c, ok: false, reason: `internal error: ${e.message}` })) };
}
