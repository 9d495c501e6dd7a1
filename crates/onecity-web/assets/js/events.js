/* onecity console: event console and dispatch desk (一网统管 事件与派单). Lists a tenant's
 * events with filters, shows them on a map (MapLibre GL, boundaries + event points), and
 * for a selected event its facts, history and a re-dispatch form (POST .../dispatch).
 * For tests: window.onecityEventsMap, body[data-events-ready|data-tenant|data-event-count|
 * data-event-points|data-selected]. */
(function () {
  'use strict';
  var oc = window.onecity;
  var t = oc.t;
  var el = oc.el;
  var body = document.body;
  body.dataset.eventsReady = '0';
  if (!oc.requireToken()) return;

  var EMPTY = { type: 'FeatureCollection', features: [] };
  var pageError = document.getElementById('page-error');
  var table = document.querySelector('#events-table tbody');
  var countEl = document.getElementById('event-count');
  var moreBtn = document.getElementById('events-more');
  var statusSel = document.getElementById('filter-status');
  var catSel = document.getElementById('filter-category');
  var borderBox = document.getElementById('filter-border');
  var detail = document.getElementById('event-detail');
  var meta = document.getElementById('event-meta');
  var history = document.getElementById('event-history');
  var evError = document.getElementById('event-error');
  var evStatus = document.getElementById('event-status');
  var form = document.getElementById('dispatch-form');
  var deptSel = document.getElementById('dispatch-department');
  var coSel = document.getElementById('dispatch-co');
  var reason = document.getElementById('dispatch-reason');

  var current = null;
  var generation = 0;
  var events = [];
  var cursor = null;
  var departments = [];
  var selected = null;

  var map = new maplibregl.Map({
    container: 'events-map',
    center: [110, 30],
    zoom: 2,
    attributionControl: { compact: true },
    style: {
      version: 8,
      sources: {
        boundaries: { type: 'geojson', data: EMPTY },
        events: { type: 'geojson', data: EMPTY, promoteId: 'id' },
      },
      layers: [
        { id: 'background', type: 'background', paint: { 'background-color': '#eef2f5' } },
        { id: 'boundaries-fill', type: 'fill', source: 'boundaries', paint: { 'fill-color': '#1d4e89', 'fill-opacity': 0.12 } },
        { id: 'boundaries-line', type: 'line', source: 'boundaries', paint: { 'line-color': '#1d4e89', 'line-width': 1 } },
        {
          id: 'events-points', type: 'circle', source: 'events',
          paint: {
            'circle-radius': 5,
            'circle-color': ['case', ['==', ['get', 'status'], 'open'], '#d62828', '#2a9d8f'],
            'circle-stroke-color': '#fff', 'circle-stroke-width': 1,
          },
        },
      ],
    },
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-left');
  window.onecityEventsMap = map;
  var styleLoaded = new Promise(function (resolve) {
    if (map.loaded()) resolve(); else map.once('load', resolve);
  });
  map.on('click', 'events-points', function (e) {
    var f = e.features && e.features[0];
    if (f) select(String(f.properties.id));
  });

  function base() { return '/api/v1/tenants/' + encodeURIComponent(current) + '/'; }

  function deptName(id) {
    for (var i = 0; i < departments.length; i++) if (departments[i].id === id) return oc.localName(departments[i]);
    return id || '';
  }

  function placeOf(ev) {
    var p = ev.placement || {};
    var parts = [];
    if (p.jurisdiction_name) parts.push(p.jurisdiction_name);
    if (p.grid_code) parts.push(p.grid_code);
    if (p.near_border) parts.push('⚠ ' + t('near_border'));
    return parts.join(' · ') || (ev.address || '');
  }

  function query() {
    var q = ['limit=100'];
    if (statusSel.value) q.push('status=' + encodeURIComponent(statusSel.value));
    if (catSel.value) q.push('service_code=' + encodeURIComponent(catSel.value));
    if (borderBox.checked) q.push('near_border=true');
    return base() + 'events?' + q.join('&');
  }

  function renderTable() {
    table.textContent = '';
    if (!events.length) {
      var tr = el('tr', 'empty');
      var td = el('td', 'muted', t('no_events'));
      td.colSpan = 5;
      tr.appendChild(td);
      table.appendChild(tr);
    }
    events.forEach(function (ev) {
      var tr = el('tr');
      tr.dataset.id = ev.id;
      tr.tabIndex = 0;
      [ev.requested_local, ev.service_code, ev.status === 'open' ? t('status_open') : t('status_closed'), placeOf(ev), deptName(ev.department_id) || ev.agency_responsible || '']
        .forEach(function (v) { tr.appendChild(el('td', null, v)); });
      tr.addEventListener('click', function () { select(ev.id); });
      tr.addEventListener('keydown', function (e) { if (e.key === 'Enter') select(ev.id); });
      if (ev.id === selected) tr.setAttribute('aria-selected', 'true');
      table.appendChild(tr);
    });
    countEl.textContent = '(' + events.length + (cursor ? '+' : '') + ')';
    moreBtn.hidden = !cursor;
    body.dataset.eventCount = String(events.length);
    var features = events.filter(function (ev) { return ev.lat !== null && ev.long !== null; }).map(function (ev) {
      return { type: 'Feature', geometry: { type: 'Point', coordinates: [ev.long, ev.lat] }, properties: { id: ev.id, status: ev.status } };
    });
    body.dataset.eventPoints = String(features.length);
    styleLoaded.then(function () { map.getSource('events').setData({ type: 'FeatureCollection', features: features }); });
  }

  async function loadEvents(append) {
    var gen = generation;
    try {
      var page = await oc.listPage(query(), append ? cursor : null);
      if (gen !== generation) return;
      events = append ? events.concat(page.items) : page.items;
      cursor = page.next_cursor;
      renderTable();
      oc.showError(pageError, '');
    } catch (e) {
      if (gen === generation) oc.showError(pageError, e);
    }
  }

  function fact(dt, dd) {
    meta.appendChild(el('dt', null, dt));
    meta.appendChild(el('dd', null, dd));
  }

  async function select(id) {
    selected = id;
    body.dataset.selected = id;
    Array.prototype.forEach.call(table.querySelectorAll('tr[data-id]'), function (tr) {
      if (tr.dataset.id === id) tr.setAttribute('aria-selected', 'true'); else tr.removeAttribute('aria-selected');
    });
    oc.showError(evError, '');
    evStatus.hidden = true;
    try {
      var ev = await oc.api(base() + 'events/' + encodeURIComponent(id));
      var hist = await oc.api(base() + 'events/' + encodeURIComponent(id) + '/history');
      if (selected !== id) return;
      detail.hidden = false;
      document.getElementById('event-title').textContent = t('event') + ' ' + ev.service_request_id;
      meta.textContent = '';
      fact(t('category'), ev.service_code);
      fact(t('status_label'), ev.status === 'open' ? t('status_open') : t('status_closed'));
      fact(t('requested'), ev.requested_local + ' (' + ev.time_zone + ')');
      fact(t('place'), placeOf(ev));
      fact(t('department'), deptName(ev.department_id) || ev.agency_responsible || '');
      if (ev.co_departments && ev.co_departments.length) fact(t('co_handling'), ev.co_departments.map(deptName).join(', '));
      if (ev.due_at) fact(t('deadline'), ev.due_at);
      if (ev.case_id) fact(t('work_order'), ev.case_id);
      if (ev.description) fact(t('event'), ev.description);
      history.textContent = '';
      hist.forEach(function (h) {
        var li = el('li', null, h.at + ' · ' + h.kind + ' · ' + h.actor);
        li.dataset.kind = h.kind;
        history.appendChild(li);
      });
      if (ev.department_id) deptSel.value = ev.department_id;
      await showWorkOrder(id, ev.case_id);
    } catch (e) {
      oc.showError(evError, e);
    }
  }

  /* The work order (工单, a hotline-12345 case) of the selected event: its state, queue,
   * deadlines and every step of its history (GET …/cases/{id}). */
  async function showWorkOrder(id, caseId) {
    var box = document.getElementById('work-order');
    var woMeta = document.getElementById('wo-meta');
    var woHist = document.getElementById('wo-history');
    var woError = document.getElementById('wo-error');
    woMeta.textContent = '';
    woHist.textContent = '';
    oc.showError(woError, '');
    box.hidden = !caseId;
    body.dataset.workOrder = caseId || '';
    if (!caseId) return;
    try {
      var d = await oc.api(base() + 'cases/' + encodeURIComponent(caseId));
      if (selected !== id) return;
      var c = d.case;
      [[t('work_order'), c.id], [t('status_label'), c.state_name || c.state],
        [t('department'), deptName(c.queue_department_id) || ''],
        [t('deadline'), c.case_due_at || c.state_due_at || '']].forEach(function (p) {
        woMeta.appendChild(el('dt', null, p[0]));
        woMeta.appendChild(el('dd', null, p[1]));
      });
      d.history.forEach(function (h) {
        var li = el('li', null, h.at + ' · ' + h.action + ' · ' + (h.from_state ? h.from_state + ' → ' : '') + h.to_state +
          ' · ' + h.actor + (h.comment ? ' · ' + h.comment : ''));
        li.dataset.action = h.action;
        woHist.appendChild(li);
      });
    } catch (e) {
      if (selected === id) oc.showError(woError, e);
    }
  }

  function fillDepartments() {
    deptSel.textContent = '';
    coSel.textContent = '';
    departments.forEach(function (d) {
      var a = el('option', null, oc.localName(d) + ' (' + d.code + ')');
      a.value = d.id;
      deptSel.appendChild(a);
      var b = el('option', null, oc.localName(d) + ' (' + d.code + ')');
      b.value = d.id;
      coSel.appendChild(b);
    });
  }

  form.addEventListener('submit', async function (e) {
    e.preventDefault();
    if (!selected) return;
    if (!reason.value.trim()) { oc.showError(evError, t('reason') + ': ' + t('required')); return; }
    var co = Array.prototype.filter.call(coSel.options, function (o) { return o.selected; }).map(function (o) { return o.value; });
    try {
      await oc.api(base() + 'events/' + encodeURIComponent(selected) + '/dispatch', {
        method: 'POST',
        json: { department_id: deptSel.value, co_departments: co, reason: reason.value.trim() },
      });
      reason.value = '';
      evStatus.textContent = t('dispatched');
      evStatus.hidden = false;
      var id = selected;
      await loadEvents(false);
      await select(id);
      evStatus.hidden = false;
    } catch (err) {
      oc.showError(evError, err);
    }
  });

  async function switchTenant(code) {
    current = code;
    generation += 1;
    var gen = generation;
    body.dataset.eventsReady = '0';
    body.dataset.tenant = code;
    detail.hidden = true;
    selected = null;
    try {
      var services = await oc.api(base() + 'governance/services');
      departments = await oc.listAll(base() + 'departments?limit=100', 5);
      if (gen !== generation) return;
      catSel.textContent = '';
      var all = el('option', null, t('all_categories'));
      all.value = '';
      catSel.appendChild(all);
      services.forEach(function (s) {
        var o = el('option', null, (oc.lang === 'zh' && s.name_zh ? s.name_zh : s.name) + ' (' + s.code + ')');
        o.value = s.code;
        catSel.appendChild(o);
      });
      fillDepartments();
      await loadEvents(false);
      var fc = await oc.api(base() + 'boundaries.geojson', { accept: 'application/geo+json, application/json' });
      if (gen !== generation) return;
      await styleLoaded;
      map.getSource('boundaries').setData(fc || EMPTY);
      var b = [Infinity, Infinity, -Infinity, -Infinity];
      (fc && fc.features || []).forEach(function (f) {
        (function visit(c) {
          if (typeof c[0] === 'number') {
            b[0] = Math.min(b[0], c[0]); b[1] = Math.min(b[1], c[1]); b[2] = Math.max(b[2], c[0]); b[3] = Math.max(b[3], c[1]);
          } else c.forEach(visit);
        })(f.geometry.coordinates);
      });
      if (isFinite(b[0])) map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 20, duration: 0 });
    } catch (e) {
      if (gen === generation) oc.showError(pageError, e);
    }
    if (gen === generation) body.dataset.eventsReady = '1';
  }

  [statusSel, catSel, borderBox].forEach(function (x) { x.addEventListener('change', function () { loadEvents(false); }); });
  document.getElementById('events-refresh').addEventListener('click', function () { loadEvents(false); });
  moreBtn.addEventListener('click', function () { loadEvents(true); });
  oc.initTenants(switchTenant).catch(function (e) { oc.showError(pageError, e); });
})();
