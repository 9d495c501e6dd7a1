/* onecity citizen pages: register with a phone and a code (/citizen/register), the
 * real-name check (/citizen/real-name) and company mandates (/citizen/companies).
 * The tenant comes from `?tenant=`, else the one saved in localStorage. Sets
 * `data-citizen-ready`, `data-registered`, `data-level` and `data-mandates` on <body>
 * for the browser tests. */
(function () {
  'use strict';
  var oc = window.onecity;
  var body = document.body;
  var page = body.dataset.page;
  var TENANT_KEY = 'onecity.tenant';

  function savedTenant() {
    var q = new URLSearchParams(location.search).get('tenant');
    if (q) return q;
    try { return window.localStorage.getItem(TENANT_KEY) || ''; } catch (e) { return ''; }
  }
  function saveTenant(code) {
    try { window.localStorage.setItem(TENANT_KEY, code); } catch (e) { /* session only */ }
  }
  function withTenant(path, tenant) {
    return path + '?tenant=' + encodeURIComponent(tenant) + '&lang=' + oc.lang;
  }
  function $(id) { return document.getElementById(id); }

  /** POST without a token (the register page); resolves to [status, body]. */
  async function postAnon(path, json) {
    var res = await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(json),
      credentials: 'same-origin',
    });
    var data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    return [res.status, data || {}];
  }

  function problemText(status, p) {
    return (p && (p.detail || p.title)) || (oc.t('request_failed') + ' (HTTP ' + status + ')');
  }

  function levelLabel(level) {
    return level ? oc.t('level_' + level) : oc.t('level_none');
  }

  function initNav(tenant) {
    document.querySelectorAll('.nav-citizen a').forEach(function (a) {
      a.href = withTenant(a.getAttribute('href').split('?')[0], tenant);
    });
  }

  // ------------------------------------------------------------------ register
  function registerPage() {
    var tenantInput = $('citizen-tenant');
    var phone = $('phone');
    var code = $('code');
    var pw = $('new-password');
    var error = $('register-error');
    var sent = $('code-sent');
    tenantInput.value = savedTenant();
    initNav(tenantInput.value);

    $('send-code').addEventListener('click', async function () {
      oc.showError(error, '');
      var tenant = tenantInput.value.trim();
      if (!tenant || !phone.value.trim()) { oc.showError(error, oc.t('register_missing')); return; }
      this.disabled = true;
      try {
        var r = await postAnon('/api/v1/tenants/' + encodeURIComponent(tenant) + '/citizens/register/start',
          { identifier: phone.value.trim() });
        if (r[0] !== 202) { oc.showError(error, problemText(r[0], r[1])); return; }
        saveTenant(tenant);
        sent.textContent = oc.t('code_sent').replace('{to}', r[1].sent_to).replace('{min}', Math.round(r[1].expires_in_secs / 60));
        sent.hidden = false;
        body.dataset.codeSent = '1';
        code.focus();
      } catch (e) {
        oc.showError(error, oc.t('network_error'));
      } finally {
        this.disabled = false;
      }
    });

    $('register-form').addEventListener('submit', async function (event) {
      event.preventDefault();
      oc.showError(error, '');
      var tenant = tenantInput.value.trim();
      if (!/^[0-9]{6}$/.test(code.value.trim())) { oc.showError(error, oc.t('code_missing')); return; }
      var json = { identifier: phone.value.trim(), code: code.value.trim() };
      if (pw.value) json.password = pw.value;
      var submit = $('register-submit');
      submit.disabled = true;
      try {
        var r = await postAnon('/api/v1/tenants/' + encodeURIComponent(tenant) + '/citizens/register/verify', json);
        if (r[0] !== 200) { oc.showError(error, problemText(r[0], r[1])); return; }
        oc.setToken(r[1].token);
        saveTenant(tenant);
        body.dataset.registered = '1';
        location.assign(withTenant('/citizen/real-name', tenant));
      } catch (e) {
        oc.showError(error, oc.t('network_error'));
      } finally {
        submit.disabled = false;
      }
    });
    body.dataset.citizenReady = '1';
  }

  // ------------------------------------------------------------------ real-name
  function showRealName(rn) {
    $('real-name-result').hidden = false;
    $('real-name-ok').textContent = oc.t('real_name_done');
    $('rn-name').textContent = rn.name;
    $('rn-id').textContent = rn.id_number_masked;
    $('rn-verifier').textContent = rn.verifier + (rn.synthetic ? ' (' + oc.t('synthetic') + ')' : '');
  }

  function showLevel(level) {
    var el = $('assurance-level');
    el.textContent = levelLabel(level);
    el.dataset.level = level || '';
    body.dataset.level = level || 'none';
  }

  async function realNamePage() {
    if (!oc.requireToken()) return;
    var tenant = savedTenant();
    initNav(tenant);
    $('to-companies').href = withTenant('/citizen/companies', tenant);
    var error = $('real-name-error');
    var who = await oc.me();
    showLevel(who.assurance);
    try {
      showRealName(await oc.api('/api/v1/auth/real-name'));
    } catch (e) { /* none yet */ }
    $('real-name-form').addEventListener('submit', async function (event) {
      event.preventDefault();
      oc.showError(error, '');
      var name = $('real-name').value.trim();
      var idn = $('id-number').value.trim().toUpperCase();
      if (!name || idn.length !== 18) { oc.showError(error, oc.t('real_name_missing')); return; }
      var submit = $('real-name-submit');
      submit.disabled = true;
      try {
        var rn = await oc.api('/api/v1/auth/real-name', { method: 'POST', json: { name: name, id_number: idn } });
        showRealName(rn);
        showLevel(rn.level);
      } catch (e) {
        oc.showError(error, e);
      } finally {
        submit.disabled = false;
      }
    });
    body.dataset.citizenReady = '1';
  }

  // ------------------------------------------------------------------ companies
  async function companiesPage() {
    if (!oc.requireToken()) return;
    var tenant = savedTenant();
    initNav(tenant);
    var who = await oc.me();
    tenant = who.tenant || tenant;
    var base = '/api/v1/tenants/' + encodeURIComponent(tenant) + '/companies';
    var current = null;
    var error = $('company-error');
    var mError = $('mandate-error');

    async function load(code) {
      var c = await oc.api(base + '/' + encodeURIComponent(code));
      current = c;
      $('mandates').hidden = false;
      $('company-heading').textContent = c.name + ' · ' + c.credit_code;
      var list = await oc.api(base + '/' + encodeURIComponent(code) + '/mandates');
      var tbody = document.querySelector('#mandates-table tbody');
      tbody.textContent = '';
      list.forEach(function (m) {
        var tr = oc.el('tr');
        tr.dataset.id = m.id;
        tr.dataset.state = m.state;
        tr.appendChild(oc.el('td', null, m.agent_id.slice(0, 8) + '…'));
        tr.appendChild(oc.el('td', null, m.actions.join(', ')));
        tr.appendChild(oc.el('td', null, m.valid_until.slice(0, 10)));
        tr.appendChild(oc.el('td', null, oc.t('mandate_' + m.state)));
        var td = oc.el('td');
        if (m.state === 'active') {
          var b = oc.el('button', 'small secondary', oc.t('mandate_revoke'));
          b.type = 'button';
          b.addEventListener('click', async function () {
            try {
              await oc.api(base + '/' + encodeURIComponent(code) + '/mandates/' + m.id, { method: 'DELETE' });
              await load(code);
            } catch (e) { oc.showError(mError, e); }
          });
          td.appendChild(b);
        }
        tr.appendChild(td);
        tbody.appendChild(tr);
      });
      body.dataset.mandates = String(list.length);
    }

    $('company-form').addEventListener('submit', async function (event) {
      event.preventDefault();
      oc.showError(error, '');
      try {
        var c = await oc.api(base, { method: 'POST', json: { credit_code: $('credit-code').value.trim(), name: $('company-name').value.trim() } });
        await load(c.credit_code);
      } catch (e) { oc.showError(error, e); }
    });
    $('company-open').addEventListener('click', async function () {
      oc.showError(error, '');
      try { await load($('credit-code').value.trim()); } catch (e) { oc.showError(error, e); }
    });
    $('mandate-form').addEventListener('submit', async function (event) {
      event.preventDefault();
      oc.showError(mError, '');
      if (!current) return;
      var actions = $('mandate-actions').value.split(/[,，\s]+/).filter(Boolean);
      var until = $('mandate-until').value;
      if (!until || !actions.length) { oc.showError(mError, oc.t('mandate_missing')); return; }
      try {
        await oc.api(base + '/' + encodeURIComponent(current.credit_code) + '/mandates', {
          method: 'POST',
          json: { agent: $('mandate-agent').value.trim(), actions: actions, valid_until: until + 'T23:59:59+08:00' },
        });
        await load(current.credit_code);
      } catch (e) { oc.showError(mError, e); }
    });
    body.dataset.citizenReady = '1';
  }

  if (page === 'register') registerPage();
  else if (page === 'real_name') realNamePage();
  else if (page === 'mandates') companiesPage();
})();
