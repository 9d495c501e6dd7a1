/* onecity console: digital twin page (数字孪生). Lists NGSI-LD entities of a tenant
 * (type and q filters) on the MapLibre map, shows an entity's attributes, and draws the
 * history of a numeric attribute from the temporal API as a small SVG chart.
 * For tests: body[data-twin-ready|data-twin-count|data-history-points]. */
(function () {
  'use strict';
  var oc = window.onecity;
  var body = document.body;
  body.dataset.twinReady = '0';
  if (!oc.requireToken()) return;
  var $ = function (id) { return document.getElementById(id); };
  var EMPTY = { type: 'FeatureCollection', features: [] };

  var map = new maplibregl.Map({
    container: 'map', center: [120.17, 30.27], zoom: 11, attributionControl: { compact: true },
    style: {
      version: 8,
      sources: { entities: { type: 'geojson', data: EMPTY } },
      layers: [
        { id: 'background', type: 'background', paint: { 'background-color': '#eef2f5' } },
        { id: 'entities', type: 'circle', source: 'entities',
          paint: { 'circle-radius': 6, 'circle-color': '#1d4e89', 'circle-stroke-color': '#fff', 'circle-stroke-width': 1 } },
      ],
    },
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-left');
  var loaded = new Promise(function (r) { if (map.loaded()) r(); else map.once('load', r); });

  function showError(e) { var p = $('page-error'); p.textContent = e.message || String(e); p.hidden = false; }

  async function ngsi(path, accept) {
    var h = { Accept: accept || 'application/json', Authorization: 'Bearer ' + oc.getToken() };
    var tenant = $('twin-tenant').value.trim();
    if (tenant) h['NGSILD-Tenant'] = tenant;
    var res = await fetch('/ngsi-ld/v1' + path, { headers: h, credentials: 'same-origin' });
    if (res.status === 401) { oc.clearToken(); oc.toLogin(); return new Promise(function () {}); }
    var text = await res.text();
    var v = null;
    try { v = JSON.parse(text); } catch (e) { v = null; }
    if (!res.ok) throw new Error((v && (v.detail || v.title)) || (oc.t('request_failed') + ' (HTTP ' + res.status + ')'));
    return { body: v, count: res.headers.get('NGSILD-Results-Count') };
  }

  function valueOf(a) {
    if (!a || typeof a !== 'object') return a;
    if ('value' in a) return a.value;
    if ('object' in a) return a.object;
    return a;
  }

  async function loadTypes() {
    var r = await ngsi('/types');
    var sel = $('twin-type');
    var keep = sel.value;
    while (sel.options.length > 1) sel.remove(1);
    var list = Array.isArray(r.body) ? r.body : (r.body && r.body.typeList) || [];
    list.forEach(function (t) {
      var name = typeof t === 'string' ? t : (t.typeName || t.id);
      var o = document.createElement('option');
      o.value = name; o.textContent = name; sel.appendChild(o);
    });
    sel.value = keep;
  }

  async function loadEntities() {
    var qs = ['limit=1000', 'count=true'];
    var ty = $('twin-type').value;
    var q = $('twin-q').value.trim();
    if (ty) qs.push('type=' + encodeURIComponent(ty));
    if (q) qs.push('q=' + encodeURIComponent(q));
    if (!ty && !q) qs.push('attrs=location');
    var r = await ngsi('/entities?' + qs.join('&'));
    var ents = r.body || [];
    var list = $('twin-list');
    list.textContent = '';
    var features = [];
    ents.forEach(function (e) {
      var li = document.createElement('li');
      var a = document.createElement('a');
      a.href = '#'; a.textContent = e.id; a.dataset.id = e.id;
      a.addEventListener('click', function (ev) { ev.preventDefault(); showEntity(e.id); });
      li.appendChild(a); list.appendChild(li);
      var loc = e.location && e.location.value;
      if (loc && loc.type === 'Point') features.push({ type: 'Feature', geometry: loc, properties: { id: e.id } });
    });
    $('twin-count').textContent = '(' + (r.count || ents.length) + ')';
    body.dataset.twinCount = String(ents.length);
    await loaded;
    map.getSource('entities').setData({ type: 'FeatureCollection', features: features });
    if (features.length) {
      var b = features.reduce(function (acc, f) {
        var c = f.geometry.coordinates;
        return [Math.min(acc[0], c[0]), Math.min(acc[1], c[1]), Math.max(acc[2], c[0]), Math.max(acc[3], c[1])];
      }, [180, 90, -180, -90]);
      map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 40, maxZoom: 14, duration: 0 });
    }
  }

  async function showEntity(id) {
    var r = await ngsi('/entities/' + encodeURIComponent(id));
    var e = r.body;
    var box = $('twin-entity');
    box.textContent = '';
    var h = document.createElement('h3'); h.textContent = e.id + ' (' + e.type + ')'; box.appendChild(h);
    var table = document.createElement('table'); table.id = 'twin-attrs';
    var numeric = null, measured = false;
    Object.keys(e).forEach(function (k) {
      if (k === 'id' || k === 'type' || k === '@context') return;
      var v = valueOf(e[k]);
      var tr = document.createElement('tr');
      var th = document.createElement('th'); th.textContent = k;
      var td = document.createElement('td');
      td.textContent = typeof v === 'object' ? JSON.stringify(v) : String(v);
      if (e[k] && e[k].observedAt) td.title = e[k].observedAt;
      if (k === 'locationSource' && v === 'placed') td.textContent += ' (' + oc.t('twin_placed') + ')';
      tr.appendChild(th); tr.appendChild(td); table.appendChild(tr);
      // Chart a measured number (one with observedAt) before a static one (e.g. graphId).
      if (typeof v === 'number' && (numeric === null || (!measured && e[k].observedAt))) {
        numeric = k; measured = !!e[k].observedAt;
      }
    });
    box.appendChild(table);
    if (numeric) await showHistory(id, numeric); else { $('twin-chart').textContent = ''; body.dataset.historyPoints = '0'; }
  }

  async function showHistory(id, attr) {
    var r = await ngsi('/temporal/entities/' + encodeURIComponent(id) + '?attrs=' + encodeURIComponent(attr) + '&lastN=500');
    var pts = ((r.body && r.body[attr]) || []).map(function (x) {
      return [Date.parse(x.observedAt || x.modifiedAt), Number(x.value)];
    }).filter(function (p) { return isFinite(p[0]) && isFinite(p[1]); }).sort(function (a, b) { return a[0] - b[0]; });
    $('twin-history-attr').textContent = attr;
    body.dataset.historyPoints = String(pts.length);
    var W = 300, H = 140, P = 28;
    var NS = 'http://www.w3.org/2000/svg';
    var svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H); svg.setAttribute('width', '100%'); svg.id = 'twin-history';
    if (pts.length) {
      var x0 = pts[0][0], x1 = pts[pts.length - 1][0] || x0 + 1;
      var ys = pts.map(function (p) { return p[1]; });
      var y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
      if (y1 === y0) { y1 = y0 + 1; }
      var sx = function (x) { return P + (W - 2 * P) * (x1 === x0 ? 0.5 : (x - x0) / (x1 - x0)); };
      var sy = function (y) { return H - P + (2 * P - H) * (y - y0) / (y1 - y0); };
      var path = document.createElementNS(NS, 'polyline');
      path.setAttribute('points', pts.map(function (p) { return sx(p[0]).toFixed(1) + ',' + sy(p[1]).toFixed(1); }).join(' '));
      path.setAttribute('fill', 'none'); path.setAttribute('stroke', '#1d4e89'); path.setAttribute('stroke-width', '1.5');
      svg.appendChild(path);
      [[y1, P], [y0, H - P]].forEach(function (l) {
        var tx = document.createElementNS(NS, 'text');
        tx.setAttribute('x', '2'); tx.setAttribute('y', String(l[1])); tx.setAttribute('font-size', '9');
        tx.textContent = String(Math.round(l[0] * 100) / 100); svg.appendChild(tx);
      });
      var cap = document.createElementNS(NS, 'text');
      cap.setAttribute('x', String(P)); cap.setAttribute('y', String(H - 6)); cap.setAttribute('font-size', '9');
      cap.textContent = new Date(x0).toISOString().slice(0, 16) + ' → ' + new Date(x1).toISOString().slice(0, 16) + ' UTC';
      svg.appendChild(cap);
    }
    var c = $('twin-chart'); c.textContent = ''; c.appendChild(svg);
  }

  map.on('click', 'entities', function (ev) {
    var f = ev.features && ev.features[0];
    if (f) showEntity(f.properties.id).catch(showError);
  });
  $('twin-filter').addEventListener('submit', function (ev) {
    ev.preventDefault();
    $('page-error').hidden = true;
    loadEntities().catch(showError);
  });
  loadTypes().then(loadEntities).then(function () { body.dataset.twinReady = '1'; }).catch(function (e) {
    showError(e); body.dataset.twinReady = '1';
  });
})();
