/* onecity console: map page. Draws a tenant's boundaries and grids with MapLibre GL
 * (no basemap tiles) and looks up the jurisdiction and grid under a click.
 * For tests: window.onecityMap, body[data-map-ready|data-boundary-count|data-tenant]. */
(function () {
  'use strict';
  var oc = window.onecity;
  var body = document.body;
  body.dataset.mapReady = '0';
  if (!oc.requireToken()) return;

  var LAYERS = {
    boundaryFill: 'boundaries-fill',
    boundaryLine: 'boundaries-line',
    boundarySelected: 'boundaries-selected',
    gridLine: 'grids-line',
  };
  var EMPTY = { type: 'FeatureCollection', features: [] };
  var GEOJSON = 'application/geo+json, application/json';
  var NO_SELECTION = ['==', ['get', 'id'], '\u0000none'];

  var pageError = document.getElementById('page-error');
  var resultEl = document.getElementById('lookup-result');
  var listEl = document.getElementById('boundary-list');
  var countEl = document.getElementById('boundary-count');
  var gridCountEl = document.getElementById('grid-count');

  var map = new maplibregl.Map({
    container: 'map',
    center: [110, 30],
    zoom: 2,
    attributionControl: { compact: true },
    style: {
      version: 8,
      sources: {
        boundaries: { type: 'geojson', data: EMPTY, promoteId: 'id' },
        grids: { type: 'geojson', data: EMPTY, promoteId: 'id' },
      },
      layers: [
        { id: 'background', type: 'background', paint: { 'background-color': '#eef2f5' } },
        {
          id: LAYERS.boundaryFill, type: 'fill', source: 'boundaries',
          paint: { 'fill-color': '#1d4e89', 'fill-opacity': 0.18 },
        },
        {
          id: LAYERS.gridLine, type: 'line', source: 'grids',
          paint: { 'line-color': '#c25e00', 'line-width': 0.8, 'line-dasharray': [3, 2], 'line-opacity': 0.8 },
        },
        {
          id: LAYERS.boundaryLine, type: 'line', source: 'boundaries',
          paint: { 'line-color': '#1d4e89', 'line-width': 1.5 },
        },
        {
          id: LAYERS.boundarySelected, type: 'line', source: 'boundaries', filter: NO_SELECTION,
          paint: { 'line-color': '#d62828', 'line-width': 3 },
        },
      ],
    },
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-left');
  map.addControl(new maplibregl.ScaleControl(), 'bottom-left');
  window.onecityMap = map;

  var styleLoaded = new Promise(function (resolve) {
    if (map.loaded()) resolve(); else map.once('load', resolve);
  });

  var current = null;      // tenant code
  var generation = 0;      // bumps on each tenant switch; stale loads stop
  var lookupSeq = 0;
  var popup = null;

  /** [[minLng, minLat], [maxLng, maxLat]] of a FeatureCollection or geometry, or null. */
  function bboxOf(geojson) {
    var b = [Infinity, Infinity, -Infinity, -Infinity];
    function visit(coords) {
      if (typeof coords[0] === 'number') {
        if (coords[0] < b[0]) b[0] = coords[0];
        if (coords[1] < b[1]) b[1] = coords[1];
        if (coords[0] > b[2]) b[2] = coords[0];
        if (coords[1] > b[3]) b[3] = coords[1];
        return;
      }
      for (var i = 0; i < coords.length; i++) visit(coords[i]);
    }
    function geometry(g) {
      if (!g) return;
      if (g.type === 'GeometryCollection') (g.geometries || []).forEach(geometry);
      else if (g.coordinates) visit(g.coordinates);
    }
    if (geojson.type === 'FeatureCollection') geojson.features.forEach(function (f) { geometry(f.geometry); });
    else if (geojson.type === 'Feature') geometry(geojson.geometry);
    else geometry(geojson);
    return b[0] <= b[2] && b[1] <= b[3] ? [[b[0], b[1]], [b[2], b[3]]] : null;
  }

  function select(id) {
    map.setFilter(LAYERS.boundarySelected, id ? ['==', ['get', 'id'], id] : NO_SELECTION);
  }

  /** Resolves once both sources are loaded and the map has rendered them. */
  async function settle(gen) {
    for (var i = 0; i < 200 && gen === generation; i++) {
      await new Promise(function (resolve) { map.once('idle', resolve); map.triggerRepaint(); });
      if (map.isSourceLoaded('boundaries') && map.isSourceLoaded('grids')) return true;
    }
    return false;
  }

  function renderList(fc) {
    listEl.textContent = '';
    countEl.textContent = '(' + fc.features.length + ')';
    if (!fc.features.length) {
      listEl.appendChild(oc.el('li', 'muted', oc.t('no_boundaries')));
      return;
    }
    fc.features.forEach(function (feature) {
      var p = feature.properties || {};
      var li = oc.el('li');
      li.dataset.id = p.id || feature.id || '';
      var button = oc.el('button', null, oc.localName(p));
      button.type = 'button';
      button.title = [p.code, p.level].filter(Boolean).join(' · ');
      button.addEventListener('click', function () {
        var bbox = bboxOf(feature);
        if (bbox) map.fitBounds(bbox, { padding: 40, maxZoom: 15 });
        select(p.id);
      });
      li.appendChild(button);
      var other = oc.lang === 'en' ? p.name : p.name_en;
      if (other && other !== oc.localName(p)) li.appendChild(oc.el('span', 'alt', other));
      listEl.appendChild(li);
    });
  }

  async function loadTenant(code) {
    var gen = ++generation;
    current = code;
    body.dataset.mapReady = '0';
    body.dataset.tenant = code;
    body.dataset.boundaryCount = '';
    oc.showError(pageError, '');
    if (popup) { popup.remove(); popup = null; }
    resultEl.textContent = '';
    resultEl.appendChild(oc.el('span', 'muted', oc.t('lookup_hint')));
    listEl.textContent = '';
    listEl.appendChild(oc.el('li', 'muted', oc.t('loading')));
    countEl.textContent = '';
    gridCountEl.textContent = '';
    var base = '/api/v1/tenants/' + encodeURIComponent(code);
    try {
      var results = await Promise.all([
        oc.api(base + '/boundaries.geojson', { accept: GEOJSON }),
        oc.api(base + '/grids.geojson', { accept: GEOJSON }).catch(function (err) {
          oc.showError(pageError, err);
          return EMPTY;
        }),
        styleLoaded,
      ]);
      if (gen !== generation) return;
      var boundaries = results[0] && results[0].features ? results[0] : EMPTY;
      var grids = results[1] && results[1].features ? results[1] : EMPTY;
      select(null);
      await Promise.all([
        map.getSource('boundaries').setData(boundaries, true),
        map.getSource('grids').setData(grids, true),
      ]);
      if (gen !== generation) return;
      body.dataset.boundaryCount = String(boundaries.features.length);
      renderList(boundaries);
      gridCountEl.textContent = '(' + grids.features.length + ')';
      var bbox = bboxOf(boundaries) || bboxOf(grids);
      if (bbox) map.fitBounds(bbox, { padding: 30, animate: false, maxZoom: 15 });
      if (await settle(gen) && gen === generation) body.dataset.mapReady = '1';
    } catch (err) {
      if (gen !== generation) return;
      listEl.textContent = '';
      oc.showError(pageError, err);
    }
  }

  function lookupNode(result) {
    var node = oc.el('div');
    var chain = (result && result.jurisdictions) || [];
    if (!chain.length) {
      node.appendChild(oc.el('span', 'muted', oc.t('lookup_none')));
      return node;
    }
    var deepest = chain[chain.length - 1];
    var text = oc.bothNames(deepest) + (deepest.level ? ' (' + deepest.level + ')' : '');
    if (result.grid) {
      text += ' · ' + oc.t('lookup_grid') + ' ' + (result.grid.code || oc.localName(result.grid));
    }
    node.appendChild(oc.el('div', 'primary', text));
    if (chain.length > 1) {
      node.appendChild(oc.el('div', 'path', chain.map(oc.localName).join(' › ')));
    }
    if (result.grid && result.grid.name && result.grid.name !== result.grid.code) {
      node.appendChild(oc.el('div', 'path', oc.t('lookup_grid') + ': ' + oc.localName(result.grid)));
    }
    return node;
  }

  async function lookup(lngLat) {
    if (!current) return;
    var seq = ++lookupSeq;
    var code = current;
    resultEl.textContent = oc.t('loading');
    var url = '/api/v1/tenants/' + encodeURIComponent(code) + '/lookup?lon=' +
      lngLat.lng.toFixed(6) + '&lat=' + lngLat.lat.toFixed(6);
    try {
      var result = await oc.api(url);
      if (seq !== lookupSeq || code !== current) return;
      resultEl.textContent = '';
      resultEl.appendChild(lookupNode(result));
      var chain = (result && result.jurisdictions) || [];
      select(chain.length ? chain[chain.length - 1].id : null);
      if (popup) popup.remove();
      popup = new maplibregl.Popup({ closeButton: true, maxWidth: '320px' })
        .setLngLat(lngLat)
        .setDOMContent(lookupNode(result))
        .addTo(map);
    } catch (err) {
      if (seq !== lookupSeq) return;
      resultEl.textContent = '';
      resultEl.appendChild(oc.el('span', 'error', err.message));
    }
  }

  map.on('click', function (event) { lookup(event.lngLat); });
  map.on('mouseenter', LAYERS.boundaryFill, function () { map.getCanvas().style.cursor = 'crosshair'; });
  map.on('mouseleave', LAYERS.boundaryFill, function () { map.getCanvas().style.cursor = ''; });

  oc.initTenants(loadTenant).catch(function (err) { oc.showError(pageError, err); });
})();
