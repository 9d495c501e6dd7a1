/* onecity console: the jobs page (作业). Lists the platform's jobs from /api/v1/jobs
 * (schedule, enabled, last run and outcome, next due), runs one now
 * (POST /api/v1/jobs/{name}/run), and shows a job's run history with durations and
 * outcomes (/api/v1/jobs/{name}/runs, paginated).
 * For tests: body[data-jobs-ready|data-jobs-count|data-runs-ready|data-runs-job|data-runs-count],
 * rows tr[data-job], tr[data-run][data-outcome], buttons button[data-run-job]. */
(function () {
  'use strict';
  var oc = window.onecity;
  var t = oc.t;
  var body = document.body;
  body.dataset.jobsReady = '0';
  body.dataset.runsReady = '0';
  if (!oc.requireToken()) return;

  function $(id) { return document.getElementById(id); }
  var pageError = $('page-error');
  var jobsBody = $('jobs-table').tBodies[0];
  var runsBody = $('runs-table').tBodies[0];
  var more = $('runs-more');
  var status = $('jobs-status');
  var selected = null;
  var nextCursor = null;
  var generation = 0;

  function when(micros) {
    if (micros === null || micros === undefined) return '–';
    return new Date(micros / 1000).toLocaleString(oc.lang === 'zh' ? 'zh-CN' : 'en-GB');
  }
  function outcomeText(o) { return t('jobs_outcome_' + o) || o; }
  function causeText(c) { return t('jobs_cause_' + c) || c; }
  function emptyRow(tbodyEl, cols, key) {
    var tr = oc.el('tr', 'empty');
    var td = oc.el('td', 'muted', t(key));
    td.colSpan = cols;
    tr.appendChild(td);
    tbodyEl.appendChild(tr);
  }
  function outcomeCell(o) {
    var td = oc.el('td');
    td.appendChild(oc.el('span', 'badge outcome-' + o, outcomeText(o)));
    return td;
  }

  function renderJobs(items) {
    jobsBody.textContent = '';
    if (!items.length) emptyRow(jobsBody, 7, 'jobs_none');
    items.forEach(function (job) {
      var tr = oc.el('tr');
      tr.dataset.job = job.name;
      var name = oc.el('td');
      var link = oc.el('a', null, job.name);
      link.href = '#runs-heading';
      link.title = job.description;
      link.addEventListener('click', function (e) { e.preventDefault(); selectJob(job.name); });
      name.appendChild(link);
      name.appendChild(oc.el('div', 'muted', job.description));
      tr.appendChild(name);
      tr.appendChild(oc.el('td', null, job.schedule_text));
      tr.appendChild(oc.el('td', null, t(job.enabled ? 'jobs_yes' : 'jobs_no')));
      tr.appendChild(oc.el('td', null, job.last_run ? when(job.last_run.started_at) : '–'));
      tr.appendChild(job.last_run ? outcomeCell(job.last_run.outcome) : oc.el('td', null, '–'));
      tr.appendChild(oc.el('td', null, when(job.next_due)));
      var act = oc.el('td');
      var run = oc.el('button', 'secondary', t('jobs_run_now'));
      run.type = 'button';
      run.dataset.runJob = job.name;
      run.addEventListener('click', function () { runNow(job.name, run); });
      act.appendChild(run);
      tr.appendChild(act);
      jobsBody.appendChild(tr);
    });
    body.dataset.jobsCount = String(items.length);
  }

  function renderRuns(items, append) {
    if (!append) runsBody.textContent = '';
    if (!append && !items.length) emptyRow(runsBody, 8, 'jobs_empty');
    items.forEach(function (r) {
      var tr = oc.el('tr');
      tr.dataset.run = r.id;
      tr.dataset.outcome = r.outcome;
      tr.dataset.attempt = String(r.attempt);
      [r.tick, String(r.attempt), causeText(r.cause), r.node, when(r.started_at),
       r.duration_ms === null || r.duration_ms === undefined ? '–' : String(r.duration_ms)].forEach(function (v) {
        tr.appendChild(oc.el('td', null, v));
      });
      tr.appendChild(outcomeCell(r.outcome));
      tr.appendChild(oc.el('td', r.error ? 'error-text' : null, r.error || r.detail || ''));
      runsBody.appendChild(tr);
    });
    body.dataset.runsCount = String(runsBody.querySelectorAll('tr[data-run]').length);
  }

  async function loadJobs() {
    body.dataset.jobsReady = '0';
    try {
      var list = await oc.api('/api/v1/jobs');
      var items = (list && list.items) || [];
      renderJobs(items);
      if (!selected && items.length) {
        var first = items.filter(function (j) { return j.last_run; })[0] || items[0];
        selectJob(first.name);
      }
    } catch (e) {
      renderJobs([]);
      oc.showError(pageError, e.message);
    }
    body.dataset.jobsReady = '1';
  }

  async function loadRuns(append) {
    var gen = ++generation;
    body.dataset.runsReady = '0';
    try {
      var path = '/api/v1/jobs/' + encodeURIComponent(selected) + '/runs?limit=50';
      var page = await oc.listPage(path, append ? nextCursor : null);
      if (gen !== generation) return;
      nextCursor = page.next_cursor;
      more.hidden = !nextCursor;
      renderRuns(page.items, append);
    } catch (e) {
      if (gen !== generation) return;
      renderRuns([], false);
      oc.showError(pageError, e.message);
    }
    body.dataset.runsReady = '1';
  }

  function selectJob(name) {
    selected = name;
    nextCursor = null;
    body.dataset.runsJob = name;
    $('runs-job').textContent = '· ' + name;
    loadRuns(false);
  }

  async function runNow(name, button) {
    button.disabled = true;
    oc.showError(pageError, '');
    try {
      var run = await oc.api('/api/v1/jobs/' + encodeURIComponent(name) + '/run', { method: 'POST' });
      status.textContent = t('jobs_ran').replace('{job}', name).replace('{outcome}', outcomeText(run.outcome));
      selected = null;
      await loadJobs();
      selectJob(name);
    } catch (e) {
      oc.showError(pageError, e.message);
    }
    button.disabled = false;
  }

  more.addEventListener('click', function () { loadRuns(true); });
  loadJobs();
})();
