/* onecity console: admin page. Lists and creates a tenant's jurisdictions,
 * departments and users. For tests: body[data-admin-ready|data-tenant]. */
(function () {
  'use strict';
  var oc = window.onecity;
  var body = document.body;
  body.dataset.adminReady = '0';
  if (!oc.requireToken()) return;

  var pageError = document.getElementById('page-error');
  var current = null;
  var generation = 0;
  var data = { jurisdictions: [], departments: [], users: [] };
  var cursors = { jurisdictions: null, departments: null, users: null };

  function base() { return '/api/v1/tenants/' + encodeURIComponent(current) + '/'; }

  function byId(list, id) {
    for (var i = 0; i < list.length; i++) if (list[i].id === id) return list[i];
    return null;
  }

  function label(list, id) {
    if (!id) return '';
    var item = byId(list, id);
    return item ? oc.localName(item) + ' (' + item.code + ')' : id;
  }

  function jurisdictionLabel(id) { return label(data.jurisdictions, id); }
  function departmentLabel(id) { return label(data.departments, id); }

  function rolesLabel(roles) {
    return (roles || []).map(function (r) {
      var scope = r.jurisdiction_id ? jurisdictionLabel(r.jurisdiction_id)
        : (r.department_id ? departmentLabel(r.department_id) : '');
      return scope ? r.role + ' @ ' + scope : r.role;
    }).join('; ');
  }

  var COLUMNS = {
    jurisdictions: function (j) {
      return [j.code, j.name, j.name_en || '', j.level, jurisdictionLabel(j.parent_id)];
    },
    departments: function (d) {
      return [d.code, d.name, d.name_en || '', jurisdictionLabel(d.jurisdiction_id)];
    },
    users: function (u) {
      return [u.username, u.display_name, u.kind, departmentLabel(u.department_id), rolesLabel(u.roles)];
    },
  };

  function renderTable(kind) {
    var table = document.getElementById(kind + '-table');
    var tbody = table.tBodies[0];
    tbody.textContent = '';
    var items = data[kind];
    if (!items.length) {
      var tr = oc.el('tr', 'empty');
      var td = oc.el('td', 'muted', oc.t('empty'));
      td.colSpan = table.tHead.rows[0].cells.length;
      tr.appendChild(td);
      tbody.appendChild(tr);
    }
    items.forEach(function (item) {
      var tr = oc.el('tr');
      tr.dataset.id = item.id;
      COLUMNS[kind](item).forEach(function (value) { tr.appendChild(oc.el('td', null, value)); });
      tbody.appendChild(tr);
    });
    document.getElementById(kind + '-more').hidden = !cursors[kind];
  }

  function fillSelects() {
    document.querySelectorAll('select[data-options]').forEach(function (select) {
      var previous = select.value;
      select.textContent = '';
      if (select.dataset.none) select.appendChild(oc.el('option', null, oc.t('none'))).value = '';
      data[select.dataset.options].forEach(function (item) {
        var option = oc.el('option', null, oc.localName(item) + ' (' + item.code + ')');
        option.value = item.id;
        select.appendChild(option);
      });
      if (previous && byId(data[select.dataset.options], previous)) select.value = previous;
    });
    fillDatalist('level-options', data.jurisdictions.map(function (j) { return j.level; }));
    var roles = [];
    data.users.forEach(function (u) { (u.roles || []).forEach(function (r) { roles.push(r.role); }); });
    fillDatalist('role-options', roles);
  }

  function fillDatalist(id, values) {
    var list = document.getElementById(id);
    list.textContent = '';
    values.filter(function (v, i) { return v && values.indexOf(v) === i; }).forEach(function (v) {
      list.appendChild(oc.el('option')).value = v;
    });
  }

  function renderAll() {
    renderTable('jurisdictions');
    renderTable('departments');
    renderTable('users');
    fillSelects();
  }

  /** Loads the first page of `kind` again (replace) or the next page (append). */
  async function loadKind(kind, append) {
    var gen = generation;
    var page = await oc.listPage(base() + kind, append ? cursors[kind] : null);
    if (gen !== generation) return false;
    data[kind] = append ? data[kind].concat(page.items) : page.items;
    cursors[kind] = page.next_cursor;
    return true;
  }

  async function loadTenant(code) {
    var gen = ++generation;
    current = code;
    body.dataset.adminReady = '0';
    body.dataset.tenant = code;
    oc.showError(pageError, '');
    data = { jurisdictions: [], departments: [], users: [] };
    cursors = { jurisdictions: null, departments: null, users: null };
    renderAll();
    var results = await Promise.allSettled([
      loadKind('jurisdictions', false),
      loadKind('departments', false),
      loadKind('users', false),
    ]);
    if (gen !== generation) return;
    var errors = results.filter(function (r) { return r.status === 'rejected'; })
      .map(function (r) { return r.reason && r.reason.message; });
    oc.showError(pageError, errors.join('\n'));
    renderAll();
    body.dataset.adminReady = '1';
  }

  ['jurisdictions', 'departments', 'users'].forEach(function (kind) {
    var button = document.getElementById(kind + '-more');
    button.addEventListener('click', async function () {
      button.disabled = true;
      try {
        if (await loadKind(kind, true)) renderAll();
      } catch (err) {
        oc.showError(pageError, err);
      } finally {
        button.disabled = false;
      }
    });
  });

  function value(form, name) {
    var v = form.elements[name].value;
    return typeof v === 'string' ? v.trim() : v;
  }
  function orNull(v) { return v ? v : null; }

  var FORMS = {
    'jurisdiction-form': {
      kind: 'jurisdictions',
      body: function (f) {
        return {
          parent_id: orNull(value(f, 'parent_id')),
          level: value(f, 'level'),
          code: value(f, 'code'),
          name: value(f, 'name'),
          name_en: orNull(value(f, 'name_en')),
        };
      },
    },
    'department-form': {
      kind: 'departments',
      body: function (f) {
        return {
          jurisdiction_id: value(f, 'jurisdiction_id'),
          code: value(f, 'code'),
          name: value(f, 'name'),
          name_en: orNull(value(f, 'name_en')),
        };
      },
    },
    'user-form': {
      kind: 'users',
      body: function (f) {
        var role = value(f, 'role');
        return {
          username: value(f, 'username'),
          display_name: value(f, 'display_name'),
          password: f.elements.password.value,
          kind: 'staff',
          department_id: orNull(value(f, 'department_id')),
          roles: role ? [{ role: role, jurisdiction_id: orNull(value(f, 'role_jurisdiction_id')) }] : [],
        };
      },
    },
  };

  Object.keys(FORMS).forEach(function (id) {
    var form = document.getElementById(id);
    var spec = FORMS[id];
    var error = form.querySelector('.form-error');
    var ok = form.querySelector('.form-ok');
    var submit = form.querySelector('button[type=submit]');
    form.addEventListener('submit', async function (event) {
      event.preventDefault();
      oc.showError(error, '');
      ok.hidden = true;
      if (!current) return;
      if (!form.reportValidity()) return;
      submit.disabled = true;
      try {
        await oc.api(base() + spec.kind, { method: 'POST', json: spec.body(form) });
        form.reset();
        ok.textContent = oc.t('created');
        ok.hidden = false;
        if (await loadKind(spec.kind, false)) renderAll();
      } catch (err) {
        oc.showError(error, err);
      } finally {
        submit.disabled = false;
      }
    });
  });

  oc.initTenants(loadTenant).catch(function (err) { oc.showError(pageError, err); });
})();
