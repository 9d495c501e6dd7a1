/* onecity staff catalog admin (数据目录管理): the tenant's datasets including those not
 * opened (package_search include_private through the CKAN API with the bearer token), a
 * form to describe a new dataset (package_create), and the three lists.
 * For tests: body[data-catalog-ready|data-catalog-count|data-tenant]. */
(function () {
  'use strict';
  var oc = window.onecity;
  var t = oc.t;
  var body = document.body;
  body.dataset.catalogReady = '0';
  if (!oc.requireToken()) return;
  function $(id) { return document.getElementById(id); }
  var current = null;

  async function ckan(action, params) {
    var res = await fetch('/api/3/action/' + action, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + oc.getToken() },
      body: JSON.stringify(params),
    });
    if (res.status === 401) { oc.clearToken(); oc.toLogin(); return new Promise(function () {}); }
    var j = await res.json();
    if (!j.success) {
      var e = j.error || {};
      var msg = e.message || Object.keys(e).filter(function (k) { return k !== '__type'; }).map(function (k) { return k + ': ' + e[k]; }).join('; ');
      throw new Error(msg || ('HTTP ' + res.status));
    }
    return j.result;
  }

  function fillList(id, items, render) {
    var ul = $(id);
    ul.textContent = '';
    if (!items.length) ul.appendChild(oc.el('li', null, t('none')));
    items.forEach(function (x) { ul.appendChild(oc.el('li', null, render(x))); });
  }

  async function load(tenant) {
    current = tenant;
    body.dataset.catalogReady = '0';
    body.dataset.tenant = tenant;
    try {
      var r = await ckan('package_search', { fq: 'tenant:' + tenant, rows: 1000, include_private: true, sort: 'name asc' });
      var tb = $('catalog-table').tBodies[0];
      tb.textContent = '';
      r.results.forEach(function (d) {
        var tr = oc.el('tr');
        tr.dataset.name = d.name;
        tr.appendChild(oc.el('td', null, d.title));
        tr.appendChild(oc.el('td', null, d.organization ? d.organization.title : ''));
        tr.appendChild(oc.el('td', null, d.domain));
        tr.appendChild(oc.el('td', null, d.grade));
        tr.appendChild(oc.el('td', null, t('open_' + d.open_level)));
        tr.appendChild(oc.el('td', null, String(d.num_resources)));
        tb.appendChild(tr);
      });
      body.dataset.catalogCount = String(r.count);
      var depts = await oc.listAll('/api/v1/tenants/' + tenant + '/departments');
      var sel = $('catalog-owner');
      sel.textContent = '';
      depts.forEach(function (d) {
        var o = oc.el('option', null, oc.localName(d));
        o.value = d.id;
        sel.appendChild(o);
      });
      var base = '/api/v1/tenants/' + tenant + '/catalog/';
      fillList('negative-list', await oc.api(base + 'negative-list'), function (x) { return x.dataset_id + (x.field ? ' · ' + x.field : '') + ' — ' + x.reason; });
      fillList('responsibility-list', await oc.api(base + 'responsibilities'), function (x) { return x.title + (x.overdue ? ' — ' + t('overdue') : ''); });
      fillList('demand-list', await oc.api(base + 'demands'), function (x) { return x.title + ' — ' + x.status; });
    } catch (e) {
      oc.showError($('page-error'), e.message);
    } finally {
      body.dataset.catalogReady = '1';
    }
  }

  $('catalog-form').addEventListener('submit', async function (ev) {
    ev.preventDefault();
    var f = ev.target;
    var err = $('catalog-form-error');
    var ok = $('catalog-form-ok');
    err.hidden = true;
    ok.hidden = true;
    var tags = f.tags.value.split(/[,，]/).map(function (s) { return s.trim(); }).filter(Boolean);
    try {
      var d = await ckan('package_create', {
        title: f.title.value, owner_org: f.owner_org.value, domain: f.domain.value,
        grade: f.grade.value, open_level: f.open_level.value, tags: tags,
      });
      ok.textContent = t('catalog_created') + ': ' + d.name;
      ok.hidden = false;
      f.reset();
      await load(current);
    } catch (e) {
      oc.showError(err, e.message);
    }
  });

  oc.initTenants(load).catch(function (e) { oc.showError($('page-error'), e.message); body.dataset.catalogReady = '1'; });
})();
