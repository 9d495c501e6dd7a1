/* onecity room finder (找房), public: free rooms near a point on the map and in a ranked
 * list, with filters; Book needs a sign-in (the token in localStorage; without one the
 * page sends the visitor to /login and back). Calls GET /api/v1/brain/rooms and
 * POST /api/v1/brain/rooms/{id}/bookings. Click the map to move the search point.
 * URL state: ?tenant= (default melbourne), ?lat=, ?lon=.
 * For tests: body[data-rooms-ready="1"], body[data-rooms-total], #rooms-list li[data-listing],
 * body[data-rooms-booked] (the last booked listing id). */
(function () {
  'use strict';
  var oc = window.onecity;
  var t = oc.t;
  var body = document.body;
  var params = new URLSearchParams(location.search);
  var tenant = params.get('tenant') || 'melbourne';
  var point = [parseFloat(params.get('lon')) || 144.9631, parseFloat(params.get('lat')) || -37.8136];
  body.dataset.roomsReady = '0';
  function $(id) { return document.getElementById(id); }
  var EMPTY = { type: 'FeatureCollection', features: [] };

  function showError(e) { var p = $('page-error'); p.textContent = e.message || String(e); p.hidden = false; }
  function clearError() { $('page-error').hidden = true; }

  var map = new maplibregl.Map({
    container: 'map', center: point, zoom: 13.5, attributionControl: { compact: true },
    style: {
      version: 8,
      sources: { rooms: { type: 'geojson', data: EMPTY }, here: { type: 'geojson', data: EMPTY } },
      layers: [
        { id: 'background', type: 'background', paint: { 'background-color': '#eef2f5' } },
        { id: 'rooms', type: 'circle', source: 'rooms',
          paint: { 'circle-radius': 7, 'circle-color': '#1d4e89', 'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5 } },
        { id: 'here', type: 'circle', source: 'here',
          paint: { 'circle-radius': 8, 'circle-color': '#c0392b', 'circle-stroke-color': '#fff', 'circle-stroke-width': 2 } },
      ],
    },
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-left');
  var loaded = new Promise(function (r) { if (map.loaded()) r(); else map.once('load', r); });

  function isoDay(offset) {
    var d = new Date(Date.now() + offset * 86400000);
    return d.toISOString().slice(0, 10);
  }
  $('rooms-checkin').value = isoDay(1);

  async function call(method, path, json) {
    var headers = { Accept: 'application/json' };
    var token = oc.getToken();
    if (token) headers.Authorization = 'Bearer ' + token;
    if (json) headers['Content-Type'] = 'application/json';
    var res;
    try {
      res = await fetch(path, { method: method, headers: headers, credentials: 'same-origin', body: json ? JSON.stringify(json) : undefined });
    } catch (e) { throw new Error(t('network_error')); }
    if (res.status === 401) { oc.clearToken(); oc.toLogin(); return new Promise(function () {}); }
    if (!res.ok) throw await oc.problemFrom(res);
    return res.status === 204 ? null : res.json();
  }

  function query() {
    var q = new URLSearchParams({ tenant: tenant, lat: point[1].toFixed(6), lon: point[0].toFixed(6), limit: '20' });
    var form = $('rooms-form');
    ['checkin', 'nights', 'radius_m', 'price_max', 'room_type', 'min_rating'].forEach(function (name) {
      var v = form.elements[name].value.trim();
      if (v !== '') q.set(name, v);
    });
    return q;
  }

  function price(room) {
    return room.price_placeholder ? t('rooms_price_on_request') : ('A$' + Math.round(room.price_aud) + ' ' + t('rooms_per_night'));
  }

  function render(r) {
    var list = $('rooms-list');
    list.textContent = '';
    $('rooms-total').textContent = String(r.total);
    body.dataset.roomsTotal = String(r.total);
    if (!r.items.length) {
      var li = document.createElement('li'); li.className = 'muted'; li.textContent = t('rooms_none'); list.appendChild(li);
    }
    r.items.forEach(function (room, i) {
      var li = document.createElement('li');
      li.className = 'rooms-item';
      li.dataset.listing = room.listing_id;
      var title = document.createElement('strong');
      title.textContent = (i + 1) + '. ' + room.name;
      var meta = document.createElement('div');
      meta.className = 'muted';
      var rating = room.rating == null ? t('rooms_unrated') : ('★ ' + room.rating.toFixed(2));
      meta.textContent = [t('rooms_type_' + room.room_type), price(room), rating,
        Math.round(room.distance_m) + ' m', t('rooms_min_nights').replace('{n}', room.minimum_nights)].join(' · ');
      var book = document.createElement('button');
      book.type = 'button';
      book.className = 'rooms-book';
      book.textContent = t('rooms_book');
      book.addEventListener('click', function () { bookRoom(room, book); });
      li.appendChild(title); li.appendChild(meta); li.appendChild(book);
      li.addEventListener('mouseenter', function () { map.easeTo({ center: [room.lon, room.lat] }); });
      list.appendChild(li);
    });
    loaded.then(function () {
      map.getSource('rooms').setData({ type: 'FeatureCollection', features: r.items.map(function (room) {
        return { type: 'Feature', geometry: { type: 'Point', coordinates: [room.lon, room.lat] }, properties: { id: room.listing_id } };
      }) });
      map.getSource('here').setData({ type: 'Feature', geometry: { type: 'Point', coordinates: point }, properties: {} });
    });
  }

  async function search() {
    body.dataset.roomsReady = '0';
    clearError();
    try {
      var started = performance.now();
      var r = await call('GET', '/api/v1/brain/rooms?' + query().toString());
      render(r);
      $('rooms-status').textContent = t('rooms_took').replace('{ms}', Math.round(performance.now() - started));
    } catch (e) {
      showError(e);
    } finally {
      body.dataset.roomsReady = '1';
    }
  }

  async function bookRoom(room, button) {
    if (!oc.getToken()) { oc.toLogin(); return; }
    clearError();
    button.disabled = true;
    var form = $('rooms-form');
    try {
      var b = await call('POST', '/api/v1/brain/rooms/' + encodeURIComponent(room.listing_id) + '/bookings',
        { tenant: tenant, checkin: form.elements.checkin.value, nights: parseInt(form.elements.nights.value, 10) });
      body.dataset.roomsBooked = b.listing_id;
      $('rooms-status').textContent = t('rooms_booked').replace('{name}', room.name).replace('{checkin}', b.checkin).replace('{checkout}', b.checkout);
      await search();
      $('rooms-status').textContent = t('rooms_booked').replace('{name}', room.name).replace('{checkin}', b.checkin).replace('{checkout}', b.checkout);
    } catch (e) {
      button.disabled = false;
      showError(e);
    }
  }

  $('rooms-form').addEventListener('submit', function (ev) { ev.preventDefault(); search(); });
  map.on('click', function (ev) { point = [ev.lngLat.lng, ev.lngLat.lat]; search(); });
  search();
})();
