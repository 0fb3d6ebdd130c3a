// jobs.js keeps a page's list of merge jobs live: every second it
// reads /jobs.json (the jobs the page lists, as the hub sees them now)
// and updates each row of <table id="potluck-jobs">: its state, its
// progress bar and count and, once the job is done, a link to the release
// it made. A job new since the page loaded gets a row. The table's
// data-updated counts the refreshes, for tests. Only textContent and
// attributes are written. Without JavaScript the page shows the jobs as
// they were when it was served.

const table = document.getElementById('potluck-jobs');
const every = 1000;

function cell(cls) {
  const td = document.createElement('td');
  td.className = cls;
  return td;
}

function newRow(job) {
  const tr = document.createElement('tr');
  tr.dataset.job = job.id;
  const id = cell('job-id');
  const code = document.createElement('code');
  code.textContent = job.id;
  id.append(code);
  const org = cell('job-org');
  org.textContent = job.org || '';
  const progress = cell('job-progress');
  progress.append(document.createElement('progress'), ' ', Object.assign(document.createElement('span'), { className: 'job-count' }));
  tr.append(id, org, cell('job-state'), progress, cell('job-release'));
  table.tBodies[0].append(tr);
  return tr;
}

function update(tr, job) {
  tr.querySelector('.job-state').textContent = job.state;
  tr.dataset.state = job.state;
  const bar = tr.querySelector('progress');
  if (job.tensors_total > 0) {
    bar.max = job.tensors_total;
    bar.value = job.tensors_done;
  } else {
    bar.removeAttribute('value');
  }
  tr.querySelector('.job-count').textContent = `${job.tensors_done} of ${job.tensors_total} tensors`;
  const rel = tr.querySelector('.job-release');
  if (job.release && !rel.querySelector('a')) {
    const a = document.createElement('a');
    a.href = `/releases/${encodeURIComponent(job.release)}`;
    a.textContent = job.release;
    rel.replaceChildren(a);
  } else if (job.error) {
    rel.textContent = job.error;
  }
}

async function refresh() {
  try {
    const resp = await fetch('/jobs.json', { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
    if (resp.ok) {
      const { jobs } = await resp.json();
      for (const job of jobs) {
        const tr = table.querySelector(`tr[data-job="${CSS.escape(job.id)}"]`) || newRow(job);
        update(tr, job);
      }
      table.hidden = table.tBodies[0].rows.length === 0;
      const none = document.getElementById('potluck-jobs-none');
      if (none) none.hidden = !table.hidden;
      table.dataset.updated = String(Number(table.dataset.updated || 0) + 1);
    }
  } catch {
    // the hub is restarting, or the network is down: try again later
  } finally {
    setTimeout(refresh, every);
  }
}

if (table) setTimeout(refresh, every);
