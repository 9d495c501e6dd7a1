/* onecity open-data portal (开放数据门户): public, no login. Searches the catalog through
 * the CKAN Action API (package_search with facets), shows a dataset (package_show) with
 * its resources and per-dataset API help. `?q=`, `?fq=` and `?dataset=<name>` are kept in
 * the URL. Resources with a datastore table get a preview and a CSV download link. For tests: body[data-portal-ready|data-portal-count], #dataset-detail[data-name]. */
(function () {
  'use strict';
  var oc = window.onecity;
  var t = oc.t;
  var body = document.body;
  body.dataset.portalReady = '0';
  function $(id) { return document.getElementById(id); }
  var FACETS = ['organization', 'tags', 'res_format', 'domain', 'open_level', 'grade'];
  var params = new URLSearchParams(location.search);

  async function ckan(action, query) {
    var res = await fetch('/api/3/action/' + action + '?' + query.toString(), { headers: { Accept: 'application/json' } });
    var j = await res.json();
    if (!j.success) throw new Error((j.error && j.error.message) || ('HTTP ' + res.status));
    return j.result;
  }

  function go(next) {
    var p = new URLSearchParams(next);
    if (params.get('lang')) p.set('lang', params.get('lang'));
    location.assign('/portal?' + p.toString());
  }

  async function search() {
    var q = params.get('q') || '';
    var fq = params.get('fq') || '';
    $('portal-q').value = q;
    $('portal-active-filters').textContent = fq ? t('portal_filters') + ': ' + fq : '';
    var query = new URLSearchParams({ q: q, fq: fq, rows: '50', 'facet.field': JSON.stringify(FACETS) });
    var r = await ckan('package_search', query);
    $('portal-count').textContent = String(r.count);
    var list = $('portal-results');
    list.textContent = '';
    if (!r.results.length) list.appendChild(oc.el('li', 'muted', t('portal_none')));
    r.results.forEach(function (d) {
      var li = oc.el('li', 'dataset');
      li.dataset.name = d.name;
      var a = oc.el('a', null, oc.lang === 'en' && d.title_en ? d.title_en : d.title);
      var p = new URLSearchParams({ dataset: d.name });
      if (params.get('lang')) p.set('lang', params.get('lang'));
      a.href = '/portal?' + p.toString();
      li.appendChild(a);
      var meta = [d.organization && d.organization.title, d.domain, (d.tags || []).map(function (x) { return x.name; }).join(' · ')];
      li.appendChild(oc.el('div', 'muted', meta.filter(Boolean).join(' | ')));
      list.appendChild(li);
    });
    var facets = $('portal-facets');
    facets.textContent = '';
    FACETS.forEach(function (f) {
      var items = (r.search_facets[f] && r.search_facets[f].items) || [];
      if (!items.length) return;
      facets.appendChild(oc.el('h4', null, t('facet_' + f)));
      var ul = oc.el('ul', 'facet');
      ul.dataset.facet = f;
      items.slice(0, 12).forEach(function (it) {
        var li = oc.el('li');
        var a = oc.el('a', null, it.display_name + ' (' + it.count + ')');
        a.href = '#';
        a.dataset.value = it.name;
        a.addEventListener('click', function (ev) {
          ev.preventDefault();
          var clause = f + ':"' + it.name + '"';
          go({ q: q, fq: (fq ? fq + ' ' : '') + clause });
        });
        li.appendChild(a);
        ul.appendChild(li);
      });
      facets.appendChild(ul);
    });
    body.dataset.portalCount = String(r.count);
  }

  async function showDataset(name) {
    var d = await ckan('package_show', new URLSearchParams({ id: name }));
    document.querySelector('.portal-results').hidden = true;
    $('portal-facets').hidden = true;
    var box = $('dataset-detail');
    box.hidden = false;
    box.dataset.name = d.name;
    $('dataset-title').textContent = oc.lang === 'en' && d.title_en ? d.title_en : d.title;
    $('dataset-notes').textContent = (oc.lang === 'en' && d.notes_en) || d.notes || '';
    var meta = $('dataset-meta');
    [['catalog_owner', d.organization && d.organization.title], ['catalog_domain', d.domain], ['catalog_grade', d.grade],
     ['catalog_open_level', d.open_level], ['portal_frequency', d.update_frequency], ['portal_license', d.license_id],
     ['catalog_tags', (d.tags || []).map(function (x) { return x.name; }).join(', ')]].forEach(function (kv) {
      if (!kv[1]) return;
      meta.appendChild(oc.el('dt', null, t(kv[0])));
      meta.appendChild(oc.el('dd', null, String(kv[1])));
    });
    var tb = $('dataset-resources').tBodies[0];
    (d.resources || []).forEach(function (r) {
      var tr = oc.el('tr');
      tr.appendChild(oc.el('td', null, r.name));
      tr.appendChild(oc.el('td', null, r.format || ''));
      var td = oc.el('td');
      if (r.url && /^https?:\/\//.test(r.url)) {
        var a = oc.el('a', null, t('portal_download'));
        a.href = r.url;
        a.rel = 'noopener noreferrer';
        td.appendChild(a);
      }
      tr.appendChild(td);
      tb.appendChild(tr);
    });
    var origin = location.origin;
    var help = [
      '# CKAN Action API — ' + t('portal_api_show'),
      'curl "' + origin + '/api/3/action/package_show?id=' + d.name + '"',
      '# ckanapi (pip install ckanapi)',
      'ckanapi action package_show id=' + d.name + ' -r ' + origin,
      '# DCAT-AP 3',
      'curl "' + origin + '/catalog.ttl"',
    ];
    (d.resources || []).forEach(function (r) {
      if (r.datastore_active) {
        help.push('# ' + t('portal_api_datastore') + ': ' + r.name);
        help.push('curl "' + origin + '/api/3/action/datastore_search?resource_id=' + r.id + '&limit=5"');
      }
    });
    $('api-help').textContent = help.join('\n');
    await previews(d);
  }

  /* A table preview (the first 10 rows from datastore_search) and a CSV download link
   * (/datastore/dump/<id>) for each resource that has a datastore table. */
  async function previews(d) {
    var box = $('dataset-previews');
    var shown = 0;
    for (var i = 0; i < (d.resources || []).length; i++) {
      var r = d.resources[i];
      var res;
      try {
        res = await ckan('datastore_search', new URLSearchParams({ resource_id: r.id, limit: '10' }));
      } catch (e) {
        continue; /* no table, or not readable by this visitor */
      }
      var cols = (res.fields || []).map(function (f) { return f.id; }).filter(function (c) { return c !== '_id'; });
      var sec = oc.el('section', 'dataset-preview');
      sec.dataset.resource = r.id;
      sec.appendChild(oc.el('h3', null, t('portal_preview') + ' — ' + r.name));
      var table = oc.el('table', 'preview-table');
      var hr = oc.el('tr');
      cols.forEach(function (c) { hr.appendChild(oc.el('th', null, c)); });
      table.appendChild(oc.el('thead')).appendChild(hr);
      var tb = table.appendChild(oc.el('tbody'));
      (res.records || []).forEach(function (rec) {
        var tr = oc.el('tr');
        cols.forEach(function (c) { tr.appendChild(oc.el('td', null, rec[c] == null ? '' : String(rec[c]))); });
        tb.appendChild(tr);
      });
      sec.appendChild(table);
      var a = oc.el('a', 'preview-download', t('portal_download_csv') + (res.total != null ? ' (' + res.total + ')' : ''));
      a.href = '/datastore/dump/' + encodeURIComponent(r.id);
      a.setAttribute('download', '');
      sec.appendChild(a);
      box.appendChild(sec);
      shown++;
    }
    box.dataset.previews = String(shown);
  }

  $('portal-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    go({ q: $('portal-q').value });
  });

  var name = params.get('dataset');
  (name ? showDataset(name) : search())
    .catch(function (e) { oc.showError($('page-error'), e.message); })
    .finally(function () { body.dataset.portalReady = '1'; });
})();
