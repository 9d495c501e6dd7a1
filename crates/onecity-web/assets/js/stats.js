/* onecity console: governance statistics (一网统管 统计分析). Reads
 * GET /api/v1/tenants/{t}/governance/stats?from&to (dates taken as UTC midnights; `to`
 * exclusive) and shows the totals, a table by category and the hot-spot grids as a table
 * and an SVG bar chart. The period can be given in the URL (?from=YYYY-MM-DD&to=YYYY-MM-DD).
 * For tests: body[data-stats-ready|data-tenant|data-stats-events|data-hot-bars]. */
(function () {
  'use strict';
  var oc = window.onecity;
  var t = oc.t;
  var el = oc.el;
  var body = document.body;
  body.dataset.statsReady = '0';
  if (!oc.requireToken()) return;

  var SVG = 'http://www.w3.org/2000/svg';
  var pageError = document.getElementById('page-error');
  var form = document.getElementById('stats-form');
  var fromIn = document.getElementById('stats-from');
  var toIn = document.getElementById('stats-to');
  var totalEl = document.getElementById('stats-total');
  var chart = document.getElementById('hot-chart');
  var hotBody = document.querySelector('#hot-table tbody');
  var catBody = document.querySelector('#cat-table tbody');
  var current = null;
  var generation = 0;

  var params = new URLSearchParams(location.search);
  if (params.get('from')) fromIn.value = params.get('from');
  if (params.get('to')) toIn.value = params.get('to');

  function pct(x) { return x === null || x === undefined ? '—' : (x * 100).toFixed(1) + '%'; }
  function num(x) { return x === null || x === undefined ? '—' : Number(x).toFixed(2); }

  function fillRows(tbody, rows) {
    tbody.textContent = '';
    rows.forEach(function (r) {
      var tr = el('tr');
      tr.dataset.key = r.key;
      [r.key, r.events, r.closed, pct(r.on_time_rate), num(r.satisfaction), pct(r.repeat_rate)]
        .forEach(function (v) { tr.appendChild(el('td', null, v)); });
      tbody.appendChild(tr);
    });
  }

  function drawChart(rows) {
    while (chart.firstChild) chart.removeChild(chart.firstChild);
    var barH = 18;
    var max = rows.reduce(function (m, r) { return Math.max(m, r.events); }, 1);
    chart.setAttribute('height', String(rows.length * (barH + 4) + 4));
    rows.forEach(function (r, i) {
      var y = 4 + i * (barH + 4);
      var label = document.createElementNS(SVG, 'text');
      label.setAttribute('x', '0');
      label.setAttribute('y', String(y + barH - 5));
      label.setAttribute('font-size', '12');
      label.textContent = r.key;
      var bar = document.createElementNS(SVG, 'rect');
      bar.setAttribute('class', 'hot-bar');
      bar.setAttribute('x', '30%');
      bar.setAttribute('y', String(y));
      bar.setAttribute('height', String(barH));
      bar.setAttribute('width', (60 * r.events / max).toFixed(2) + '%');
      bar.setAttribute('fill', '#1d4e89');
      bar.dataset.events = String(r.events);
      var title = document.createElementNS(SVG, 'title');
      title.textContent = r.key + ': ' + r.events;
      bar.appendChild(title);
      var value = document.createElementNS(SVG, 'text');
      value.setAttribute('x', (30 + 60 * r.events / max + 1).toFixed(2) + '%');
      value.setAttribute('y', String(y + barH - 5));
      value.setAttribute('font-size', '12');
      value.textContent = String(r.events);
      chart.appendChild(label);
      chart.appendChild(bar);
      chart.appendChild(value);
    });
    body.dataset.hotBars = String(rows.length);
  }

  async function load() {
    if (!current) return;
    var gen = ++generation;
    body.dataset.statsReady = '0';
    var q = [];
    if (fromIn.value) q.push('from=' + encodeURIComponent(fromIn.value + 'T00:00:00Z'));
    if (toIn.value) q.push('to=' + encodeURIComponent(toIn.value + 'T00:00:00Z'));
    try {
      var s = await oc.api('/api/v1/tenants/' + encodeURIComponent(current) + '/governance/stats' + (q.length ? '?' + q.join('&') : ''));
      if (gen !== generation) return;
      totalEl.textContent = '';
      [[t('stats_events'), s.total.events], [t('stats_closed'), s.total.closed],
        [t('stats_on_time'), pct(s.total.on_time_rate)], [t('stats_satisfaction'), num(s.total.satisfaction)],
        [t('stats_repeat'), pct(s.total.repeat_rate)]].forEach(function (p) {
        totalEl.appendChild(el('dt', null, p[0]));
        totalEl.appendChild(el('dd', null, p[1]));
      });
      fillRows(catBody, s.by_category);
      fillRows(hotBody, s.hot_spots);
      drawChart(s.hot_spots);
      body.dataset.statsEvents = String(s.total.events);
      oc.showError(pageError, '');
      body.dataset.statsReady = '1';
    } catch (e) {
      if (gen === generation) oc.showError(pageError, e);
    }
  }

  form.addEventListener('submit', function (e) { e.preventDefault(); load(); });
  oc.initTenants(function (code) {
    current = code;
    body.dataset.tenant = code;
    return load();
  }).catch(function (e) { oc.showError(pageError, e); });
})();
