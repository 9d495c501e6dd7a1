/* onecity console: metro station forecasts (城市大脑 地铁客流预测).
 * /console/brain/stations lists the stations of the selected tenant with the latest
 * actual inflow and the next forecast (GET /api/v1/brain/metro/stations).
 * /console/brain/stations/{id} draws an SVG chart of the 80 % and 95 % forecast bands
 * over the actual flow (forecasts from GET /api/v1/brain/metro/stations/{id}/forecast,
 * actual flow from the NGSI-LD temporal API), and the evacuation advice panel from
 * GET /api/v1/brain/metro/stations/{id}/advice (404 = no advice).
 * For tests: body[data-stations-ready|data-stations-count] on the list;
 * body[data-station-ready|data-actual-points|data-band-points|data-advice] on a station
 * (data-advice: none | shown | error). */
(function () {
  'use strict';
  var oc = window.onecity;
  var body = document.body;
  var $ = function (id) { return document.getElementById(id); };
  var detail = !!$('station-chart');
  if (detail) body.dataset.stationReady = '0'; else body.dataset.stationsReady = '0';
  if (!oc.requireToken()) return;
  var el = oc.el;
  var NS = 'http://www.w3.org/2000/svg';

  function showError(e) { var p = $('page-error'); p.textContent = e.message || String(e); p.hidden = false; }
  function num(v) { return (v === null || v === undefined || !isFinite(v)) ? '–' : String(Math.round(v)); }
  function hhmm(iso) {
    // Slot times of the Hangzhou data are shown in Beijing time (UTC+8).
    var d = new Date(Date.parse(iso) + 8 * 3600 * 1000);
    return d.toISOString().slice(0, 10) + ' ' + d.toISOString().slice(11, 16);
  }
  function status(f) { return f.stale ? oc.t('station_stale') : oc.t('station_fresh'); }
  function q(tenant) { return 'tenant=' + encodeURIComponent(tenant); }

  async function loadList(tenant) {
    body.dataset.stationsReady = '0';
    var r = await oc.api('/api/v1/brain/metro/stations?' + q(tenant));
    var tbody = $('stations-table').querySelector('tbody');
    tbody.textContent = '';
    $('stations-count').textContent = String(r.stations.length);
    body.dataset.stationsCount = String(r.stations.length);
    if (!r.stations.length) {
      var tr = el('tr'); var td = el('td', 'muted', oc.t('stations_none'));
      td.colSpan = 6; tr.appendChild(td); tbody.appendChild(tr);
    }
    r.stations.forEach(function (s) {
      var tr = el('tr');
      var a = el('a', null, s.name);
      a.href = '/console/brain/stations/' + encodeURIComponent(s.id);
      var td = el('td'); td.appendChild(a); tr.appendChild(td);
      tr.appendChild(el('td', null, s.graph_id === null ? '–' : String(s.graph_id)));
      tr.appendChild(el('td', null, s.latest ? num(s.latest.inflow) + ' @ ' + hhmm(s.latest.at) : '–'));
      var f = s.forecasts[0];
      tr.appendChild(el('td', null, f ? num(f.inflow) + ' @ ' + hhmm(f.for_time) : '–'));
      tr.appendChild(el('td', null, f ? num(f.lower80) + '–' + num(f.upper80) : '–'));
      tr.appendChild(el('td', f && f.stale ? 'error' : null, f ? status(f) : oc.t('station_no_forecast')));
      tbody.appendChild(tr);
    });
    body.dataset.stationsReady = '1';
  }

  async function actualFlow(tenant, entityId, from, to) {
    var path = '/ngsi-ld/v1/temporal/entities/' + encodeURIComponent(entityId) + '?attrs=inflow' +
      (from ? '&timerel=between&timeAt=' + encodeURIComponent(from) + '&endTimeAt=' + encodeURIComponent(to) : '&lastN=36');
    var res = await fetch(path, {
      headers: { Accept: 'application/json', Authorization: 'Bearer ' + oc.getToken(), 'NGSILD-Tenant': tenant },
      credentials: 'same-origin',
    });
    if (!res.ok) throw await oc.problemFrom(res);
    var v = await res.json();
    var list = (v && v.inflow) || [];
    if (!Array.isArray(list)) list = [list];
    return list.map(function (x) { return [Date.parse(x.observedAt), Number(x.value)]; })
      .filter(function (p) { return isFinite(p[0]) && isFinite(p[1]); })
      .sort(function (a, b) { return a[0] - b[0]; });
  }

  function svgEl(tag, attrs, text) {
    var n = document.createElementNS(NS, tag);
    Object.keys(attrs).forEach(function (k) { n.setAttribute(k, String(attrs[k])); });
    if (text !== undefined) n.textContent = text;
    return n;
  }

  function drawChart(actual, forecasts) {
    var svg = $('station-chart');
    svg.textContent = '';
    var W = 720, H = 300, L = 48, R = 12, T = 12, B = 36;
    var xs = actual.map(function (p) { return p[0]; });
    var ys = actual.map(function (p) { return p[1]; });
    forecasts.forEach(function (f) { xs.push(Date.parse(f.for_time)); ys.push(f.upper95, f.lower95); });
    if (!xs.length) { svg.appendChild(svgEl('text', { x: L, y: H / 2 }, oc.t('station_no_data'))); return; }
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
    if (x1 === x0) x1 = x0 + 600000;
    var y1 = Math.max.apply(null, ys.filter(isFinite).concat([1])) * 1.05;
    var sx = function (x) { return L + (W - L - R) * (x - x0) / (x1 - x0); };
    var sy = function (y) { return H - B - (H - T - B) * y / y1; };
    svg.appendChild(svgEl('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: '#888' }));
    svg.appendChild(svgEl('line', { x1: L, y1: T, x2: L, y2: H - B, stroke: '#888' }));
    [0, 0.5, 1].forEach(function (k) {
      svg.appendChild(svgEl('text', { x: 4, y: sy(y1 * k) + 4, 'font-size': 11 }, String(Math.round(y1 * k))));
    });
    svg.appendChild(svgEl('text', { x: L, y: H - 8, 'font-size': 11 }, hhmm(new Date(x0).toISOString())));
    svg.appendChild(svgEl('text', { x: W - R, y: H - 8, 'font-size': 11, 'text-anchor': 'end' }, hhmm(new Date(x1).toISOString())));
    function band(lo, hi, fill, id) {
      if (!forecasts.length) return;
      var top = forecasts.map(function (f) { return sx(Date.parse(f.for_time)).toFixed(1) + ',' + sy(f[hi]).toFixed(1); });
      var bottom = forecasts.slice().reverse().map(function (f) { return sx(Date.parse(f.for_time)).toFixed(1) + ',' + sy(f[lo]).toFixed(1); });
      if (forecasts.length === 1) {
        var x = sx(Date.parse(forecasts[0].for_time));
        top = [(x - 4).toFixed(1) + ',' + sy(forecasts[0][hi]).toFixed(1), (x + 4).toFixed(1) + ',' + sy(forecasts[0][hi]).toFixed(1)];
        bottom = [(x + 4).toFixed(1) + ',' + sy(forecasts[0][lo]).toFixed(1), (x - 4).toFixed(1) + ',' + sy(forecasts[0][lo]).toFixed(1)];
      }
      svg.appendChild(svgEl('polygon', { points: top.concat(bottom).join(' '), fill: fill, stroke: 'none', id: id }));
    }
    band('lower95', 'upper95', 'rgba(29,78,137,0.18)', 'band95');
    band('lower80', 'upper80', 'rgba(29,78,137,0.35)', 'band80');
    if (forecasts.length) {
      svg.appendChild(svgEl('polyline', {
        id: 'forecast-line', fill: 'none', stroke: '#1d4e89', 'stroke-width': 2, 'stroke-dasharray': '5 3',
        points: forecasts.map(function (f) { return sx(Date.parse(f.for_time)).toFixed(1) + ',' + sy(f.inflow).toFixed(1); }).join(' '),
      }));
    }
    if (actual.length) {
      svg.appendChild(svgEl('polyline', {
        id: 'actual-line', fill: 'none', stroke: '#b5412c', 'stroke-width': 2,
        points: actual.map(function (p) { return sx(p[0]).toFixed(1) + ',' + sy(p[1]).toFixed(1); }).join(' '),
      }));
    }
  }

  async function loadAdvice(tenant, id) {
    var box = $('advice');
    box.textContent = '';
    try {
      var a = await oc.api('/api/v1/brain/metro/stations/' + encodeURIComponent(id) + '/advice?' + q(tenant));
      var dl = el('dl', 'facts');
      [['advice_for', hhmm(a.for_time)], ['advice_demand', num(a.demand)],
        ['advice_triggered', a.triggered ? oc.t('advice_yes') : oc.t('advice_no')],
        ['advice_lead', String(a.lead_minutes) + ' min'], ['advice_made', hhmm(a.made_at)]].forEach(function (row) {
        dl.appendChild(el('dt', null, oc.t(row[0]))); dl.appendChild(el('dd', null, row[1]));
      });
      box.appendChild(dl);
      var table = el('table', 'inbox-table');
      var head = el('tr');
      ['advice_mode', 'advice_vehicles', 'advice_dispatch'].forEach(function (k) { head.appendChild(el('th', null, oc.t(k))); });
      table.appendChild(head);
      (a.modes || []).forEach(function (m) {
        var tr = el('tr');
        tr.appendChild(el('td', null, oc.t('mode_' + m.mode)));
        tr.appendChild(el('td', null, String(m.extra_vehicles)));
        tr.appendChild(el('td', null, m.dispatch_at ? hhmm(m.dispatch_at) : '–'));
        table.appendChild(tr);
      });
      box.appendChild(table);
      if (a.assumptions) box.appendChild(el('p', 'muted', a.assumptions));
      body.dataset.advice = 'shown';
    } catch (e) {
      if (e instanceof oc.ApiError && e.status === 404) {
        box.appendChild(el('p', 'muted', oc.t('advice_none')));
        body.dataset.advice = 'none';
      } else {
        box.appendChild(el('p', 'error', e.message || String(e)));
        body.dataset.advice = 'error';
      }
    }
  }

  async function loadStation(tenant) {
    body.dataset.stationReady = '0';
    var id = decodeURIComponent(location.pathname.split('/').pop());
    var s = await oc.api('/api/v1/brain/metro/stations/' + encodeURIComponent(id) + '/forecast?' + q(tenant));
    $('station-name').textContent = s.name;
    var facts = $('station-facts'); facts.textContent = '';
    [['station_entity', s.entity_id], ['station_graph_id', s.graph_id === null ? '–' : String(s.graph_id)],
      ['station_neighbours', s.neighbours.join(', ') || '–'],
      ['station_position', s.location ? s.location[0] + ', ' + s.location[1] + (s.position_source === 'placed' ? ' (' + oc.t('twin_placed') + ')' : '') : '–'],
      ['station_latest', s.latest ? num(s.latest.inflow) + ' @ ' + hhmm(s.latest.at) : '–']].forEach(function (row) {
      facts.appendChild(el('dt', null, oc.t(row[0]))); facts.appendChild(el('dd', null, row[1]));
    });
    var tbody = $('forecast-table').querySelector('tbody'); tbody.textContent = '';
    s.forecasts.forEach(function (f) {
      var tr = el('tr');
      [hhmm(f.for_time), String(f.horizon_minutes), num(f.inflow), num(f.lower80) + '–' + num(f.upper80),
        num(f.lower95) + '–' + num(f.upper95), f.made_at.slice(0, 19).replace('T', ' ') + ' UTC'].forEach(function (c) {
        tr.appendChild(el('td', null, c));
      });
      tr.appendChild(el('td', f.stale ? 'error' : null, status(f)));
      tbody.appendChild(tr);
    });
    var from = null, to = null;
    if (s.forecasts.length) {
      var first = Date.parse(s.forecasts[0].for_time);
      from = new Date(first - 3 * 3600 * 1000).toISOString();
      to = new Date(Date.parse(s.forecasts[s.forecasts.length - 1].for_time) + 600000).toISOString();
    }
    var actual = await actualFlow(tenant, s.entity_id, from, to);
    body.dataset.actualPoints = String(actual.length);
    body.dataset.bandPoints = String(s.forecasts.length);
    drawChart(actual, s.forecasts);
    await loadAdvice(tenant, s.id);
    body.dataset.stationReady = '1';
  }

  oc.initTenants(function (tenant) {
    $('page-error').hidden = true;
    var run = detail ? loadStation(tenant) : loadList(tenant);
    run.catch(function (e) {
      showError(e);
      if (detail) body.dataset.stationReady = '1'; else body.dataset.stationsReady = '1';
    });
  }).catch(showError);
})();
