/* onecity service hall (网上办事大厅), public, no login: the hall (search, browse by life
 * event and by department), an item's guide (办事指南, printable) and the citizen home's
 * hall tile. Calls /api/v1/services/tenants, /api/v1/tenants/{t}/services/browse,
 * …/services/items (plain filters) and …/services/items/{code}/guide?lang=.
 * URL state: ?tenant=, ?q=, ?life_event=, ?department= (hall); /hall/items/{code} (guide).
 * For tests: body[data-hall-ready="1"], body[data-hall-count], #guide[data-code][data-version]. */
(function () {
  'use strict';
  var oc = window.onecity;
  var t = oc.t;
  var body = document.body;
  var lang = body.dataset.lang === 'zh' ? 'zh' : 'en';
  var params = new URLSearchParams(location.search);
  body.dataset.hallReady = '0';
  function $(id) { return document.getElementById(id); }
  function pick(text) { return text ? (text[lang] || text.zh || text.en || '') : ''; }

  /** A public GET (no token: anonymous reads of published items). */
  async function get(path) {
    var res;
    try {
      res = await fetch(path, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
    } catch (e) {
      throw new Error(t('network_error'));
    }
    var text = await res.text();
    var data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (!res.ok) throw new Error((data && data.detail) || (t('request_failed') + ' (HTTP ' + res.status + ')'));
    return data;
  }

  /** `href` with the page's ?lang= (and the hall's ?tenant=) kept. */
  function link(path, extra) {
    var p = new URLSearchParams(extra || {});
    if (params.get('lang')) p.set('lang', params.get('lang'));
    if (params.get('tenant') && !p.has('tenant')) p.set('tenant', params.get('tenant'));
    var q = p.toString();
    return path + (q ? '?' + q : '');
  }

  /** The tenant of the hall: ?tenant=, else the first tenant that has published items. */
  async function tenant() {
    var list = await get('/api/v1/services/tenants');
    var want = params.get('tenant');
    var found = (list || []).find(function (x) { return x.code === want; });
    return found || (list || [])[0] || null;
  }

  function fill(ul, values, cls) {
    ul.textContent = '';
    values.forEach(function (v) { ul.appendChild(oc.el('li', cls || null, v)); });
  }

  // ------------------------------------------------------------------ the hall
  async function hallPage() {
    var tn = await tenant();
    if (!tn) {
      $('hall-results').textContent = '';
      $('hall-results').appendChild(oc.el('li', 'muted', t('hall_none')));
      $('hall-events').textContent = '';
      $('hall-count').textContent = '0';
      body.dataset.hallCount = '0';
      return;
    }
    $('hall-tenant').textContent = pick(tn.name);
    var base = '/api/v1/tenants/' + encodeURIComponent(tn.code) + '/services/';
    var q = params.get('q') || '';
    var lifeEvent = params.get('life_event') || '';
    var dept = params.get('department') || '';
    $('hall-q').value = q;
    var browse = await get(base + 'browse');

    var events = $('hall-events');
    events.textContent = '';
    browse.life_events.forEach(function (f) {
      var li = oc.el('li');
      var a = oc.el('a', 'chip' + (f.key === lifeEvent ? ' chip-on' : ''), pick(f.name) + ' ' + f.count);
      a.href = link('/hall', { life_event: f.key });
      a.dataset.lifeEvent = f.key;
      if (f.key === lifeEvent) a.setAttribute('aria-current', 'true');
      li.appendChild(a);
      events.appendChild(li);
    });
    // At phone width the department list starts folded (unless one is chosen).
    if (!dept && window.matchMedia('(max-width: 720px)').matches) $('hall-depts-box').open = false;
    var depts = $('hall-depts');
    depts.textContent = '';
    browse.departments.forEach(function (f) {
      var li = oc.el('li');
      var a = oc.el('a', f.key === dept ? 'on' : null, pick(f.name));
      a.href = link('/hall', { department: f.key });
      a.dataset.department = f.key;
      if (f.key === dept) a.setAttribute('aria-current', 'true');
      li.appendChild(a);
      li.appendChild(oc.el('span', 'muted', ' ' + f.count));
      depts.appendChild(li);
    });

    var active = [];
    if (q) active.push('“' + q + '”');
    if (lifeEvent) {
      var ev = browse.life_events.find(function (f) { return f.key === lifeEvent; });
      active.push(ev ? pick(ev.name) : lifeEvent);
    }
    if (dept) {
      var d = browse.departments.find(function (f) { return f.key === dept; });
      active.push(d ? pick(d.name) : dept);
    }
    $('hall-active').hidden = !active.length;
    $('hall-active-text').textContent = active.length ? t('hall_showing') + ': ' + active.join(' · ') : '';
    $('hall-clear').href = link('/hall');

    var query = new URLSearchParams({ limit: '500' });
    if (q) query.set('q', q);
    if (lifeEvent) query.set('life_event', lifeEvent);
    if (dept) query.set('department', dept);
    var page = await get(base + 'items?' + query.toString());
    var names = {};
    browse.departments.forEach(function (f) { names[f.key] = pick(f.name); });
    var list = $('hall-results');
    list.textContent = '';
    if (!page.items.length) list.appendChild(oc.el('li', 'muted', t('hall_none')));
    page.items.forEach(function (it) {
      var li = oc.el('li', 'hall-item');
      li.dataset.code = it.code;
      var a = oc.el('a', 'hall-item-name', pick(it.name));
      a.href = link('/hall/items/' + encodeURIComponent(it.code));
      li.appendChild(a);
      var days = it.promised_days === 0 ? t('hall_on_the_spot')
        : t('hall_promised') + ' ' + it.promised_days + ' ' + t(it.promised_days === 1 ? 'hall_day' : 'hall_days');
      li.appendChild(oc.el('div', 'muted hall-item-meta', [names[it.department_code] || it.department_code, days].join(' · ')));
      list.appendChild(li);
    });
    $('hall-count').textContent = String(page.items.length);
    body.dataset.hallCount = String(page.items.length);
  }

  // ------------------------------------------------------------------ one guide
  async function guidePage() {
    var code = decodeURIComponent(location.pathname.replace(/^\/hall\/items\//, '').replace(/\/$/, ''));
    var tn = await tenant();
    if (!tn) throw new Error(t('hall_none'));
    var q = new URLSearchParams({ lang: lang });
    if (params.get('version')) q.set('version', params.get('version'));
    var g = await get('/api/v1/tenants/' + encodeURIComponent(tn.code) + '/services/items/' +
      encodeURIComponent(code) + '/guide?' + q.toString());
    document.title = g.title + ' · ' + t('guide_title') + ' · onecity';
    var art = $('guide');
    art.dataset.code = g.code;
    art.dataset.version = String(g.version);
    $('guide-back').href = link('/hall');
    $('guide-code').textContent = g.code;
    $('guide-title').textContent = g.title;
    $('guide-title-other').textContent = g.title_other;
    var published = g.published_at ? new Date(g.published_at).toLocaleDateString(lang === 'zh' ? 'zh-CN' : 'en-GB') : '';
    $('guide-version').textContent = g.version_note + (published ? ' · ' + published : '');
    $('guide-department').textContent = g.department;
    $('guide-type').textContent = g.item_type;
    $('guide-level').textContent = g.level;
    $('guide-targets').textContent = g.targets.join('、');
    $('guide-channels').textContent = g.channels.join(' · ');
    $('guide-promised').textContent = g.time_limits.promised_text;
    $('guide-legal').textContent = g.time_limits.legal_text;
    var notes = [];
    if (g.time_limits.note) notes.push(g.time_limits.note);
    if (!g.time_limits.calendar_covers) notes.push(t('guide_calendar_gap'));
    $('guide-limit-note').textContent = notes.join(' ');
    fill($('guide-conditions'), g.conditions);
    $('guide-materials-summary').textContent = t('guide_materials_summary')
      .replace('{n}', String(g.materials_to_submit)).replace('{h}', String(g.materials_held));
    var mats = $('guide-materials');
    mats.textContent = '';
    g.materials.forEach(function (m) {
      var li = oc.el('li', m.held_by_government ? 'held' : null);
      li.appendChild(oc.el('strong', null, m.name));
      li.appendChild(oc.el('span', 'muted', ' (' + m.form + (m.copies > 1 ? ', ' + m.copies + ' ' + t('guide_copies') : '') + ')'));
      li.appendChild(oc.el('div', m.held_by_government ? 'mark-held' : 'mark-bring', m.mark));
      if (m.note) li.appendChild(oc.el('div', 'muted', m.note));
      mats.appendChild(li);
    });
    fill($('guide-steps'), g.steps);
    $('guide-fees-text').textContent = g.fees.text;
    var fees = $('guide-fees');
    fees.textContent = '';
    g.fees.items.forEach(function (f) {
      var li = oc.el('li');
      li.appendChild(oc.el('strong', null, f.name + ': ' + f.amount));
      li.appendChild(oc.el('div', 'muted', t('guide_basis_label') + ': ' + f.basis));
      fees.appendChild(li);
    });
    fill($('guide-handling'), g.handling);
    var where = $('guide-where');
    where.textContent = '';
    g.where_to_go.forEach(function (w) {
      var li = oc.el('li');
      li.appendChild(oc.el('strong', null, w.name));
      li.appendChild(oc.el('div', null, w.address));
      li.appendChild(oc.el('div', 'muted', t('guide_hours') + ': ' + w.hours));
      where.appendChild(li);
    });
    $('guide-assurance').textContent = g.assurance.text;
    fill($('guide-basis'), g.legal_basis);
    $('guide-printed').textContent = t('guide_printed') + ' ' + location.origin + location.pathname + ' · ' + g.code + ' v' + g.version;
    art.hidden = false;
  }

  // ------------------------------------------------------------------ citizen home tile
  async function homePage() {
    var tn = await tenant();
    if (tn) $('tile-hall-count').textContent = t('tile_hall_count').replace('{n}', String(tn.items));
  }

  var print = $('guide-print');
  if (print) print.addEventListener('click', function () { window.print(); });
  var form = $('hall-form');
  if (form) {
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var q = $('hall-q').value.trim();
      location.assign(link('/hall', q ? { q: q } : {}));
    });
  }

  var run = body.dataset.page === 'hall' ? hallPage
    : body.dataset.page === 'hall_item' ? guidePage
    : homePage;
  run().catch(function (err) {
    oc.showError($('page-error'), err);
  }).then(function () { body.dataset.hallReady = '1'; });
})();
