/* onecity console: the data exchange dashboard (数据交换). Shows a tenant's exchange
 * statistics (calls, refusals, rows and bytes per day, dataset and department) from
 * /api/v1/tenants/{tenant}/exchange-stats, with totals and a date range.
 * For tests: body[data-exchange-ready|data-exchange-rows|data-tenant]. */
(function () {
  'use strict';
  var oc = window.onecity;
  var t = oc.t;
  var body = document.body;
  body.dataset.exchangeReady = '0';
  if (!oc.requireToken()) return;

  function $(id) { return document.getElementById(id); }
  var pageError = $('page-error');
  var tbody = $('exchange-table').tBodies[0];
  var from = $('filter-from');
  var to = $('filter-to');
  var current = null;
  var generation = 0;

  function day(d) { return d.toISOString().slice(0, 10); }
  var today = new Date();
  to.value = day(today);
  from.value = day(new Date(today.getTime() - 30 * 86400000));

  var deptNames = {};
  async function loadDepartments() {
    deptNames = {};
    try {
      var items = await oc.listAll('/api/v1/tenants/' + encodeURIComponent(current) + '/departments', 10);
      items.forEach(function (d) { deptNames[d.id] = oc.localName(d) || d.code; });
    } catch (e) { /* names are a nicety: ids are shown without them */ }
  }
  function dept(id) { return id ? (deptNames[id] || id) : '–'; }

  function render(rows) {
    tbody.textContent = '';
    var sum = { calls: 0, denied: 0, rows: 0, bytes: 0 };
    if (!rows.length) {
      var tr = oc.el('tr', 'empty');
      var td = oc.el('td', 'muted', t('exchange_empty'));
      td.colSpan = 8;
      tr.appendChild(td);
      tbody.appendChild(tr);
    }
    rows.forEach(function (r) {
      var tr = oc.el('tr');
      tr.dataset.resource = r.resource_id;
      [r.day, r.resource_id, dept(r.consumer_department), dept(r.provider_department),
       String(r.calls), String(r.denied), String(r.rows), String(r.bytes)].forEach(function (v) {
        tr.appendChild(oc.el('td', null, v));
      });
      tbody.appendChild(tr);
      sum.calls += r.calls; sum.denied += r.denied; sum.rows += r.rows; sum.bytes += r.bytes;
    });
    $('sum-calls').textContent = String(sum.calls);
    $('sum-denied').textContent = String(sum.denied);
    $('sum-rows').textContent = String(sum.rows);
    $('sum-bytes').textContent = String(sum.bytes);
    body.dataset.exchangeRows = String(rows.length);
  }

  async function load() {
    var gen = ++generation;
    body.dataset.exchangeReady = '0';
    oc.showError(pageError, '');
    try {
      var q = '?from=' + encodeURIComponent(from.value) + '&to=' + encodeURIComponent(to.value);
      var rows = await oc.api('/api/v1/tenants/' + encodeURIComponent(current) + '/exchange-stats' + q);
      if (gen !== generation) return;
      render(rows || []);
    } catch (e) {
      if (gen !== generation) return;
      render([]);
      oc.showError(pageError, e.message);
    }
    body.dataset.exchangeReady = '1';
  }

  $('exchange-refresh').addEventListener('click', load);
  oc.initTenants(async function (code) {
    current = code;
    body.dataset.tenant = code;
    await loadDepartments();
    load();
  });
})();
