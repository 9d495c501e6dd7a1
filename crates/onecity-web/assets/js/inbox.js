/* onecity console: the to-do inbox (一体办公 待办). Lists what waits for the caller in a
 * tenant (counts, filters, soonest deadline first), shows a case with its data, history
 * and the actions open to the caller (sign for 签收, and each allowed action, sent with
 * the case version), and the caller's notifications.
 * For tests: body[data-inbox-ready|data-inbox-count|data-tenant],
 * #case-detail[data-case-id|data-state|data-version|data-loading]. */
(function () {
  'use strict';
  var oc = window.onecity;
  var t = oc.t;
  var body = document.body;
  body.dataset.inboxReady = '0';
  if (!oc.requireToken()) return;

  var PAGE_SIZE = 50;
  var SOON_MS = 24 * 3600 * 1000;
  /** Fields the action form offers a list for, and where the list comes from. */
  var PICKERS = { assignee: 'users', department: 'departments' };

  function $(id) { return document.getElementById(id); }
  var pageError = $('page-error');
  var table = $('inbox-table');
  var tbody = table.tBodies[0];
  var moreButton = $('inbox-more');
  var flowFilter = $('filter-flow');
  var overdueFilter = $('filter-overdue');
  var refreshButton = $('inbox-refresh');
  var detail = $('case-detail');
  var caseError = $('case-error');
  var caseStatus = $('case-status');
  var claimButton = $('claim-button');
  var actionButtons = $('case-action-buttons');
  var form = $('action-form');
  var fieldsEl = $('action-fields');
  var actionError = $('action-error');
  var actionSubmit = $('action-submit');
  var notificationList = $('notification-list');

  var current = null;       // tenant code
  var generation = 0;       // bumps on each tenant switch; stale answers are dropped
  var listSeq = 0;          // bumps on each inbox load
  var detailSeq = 0;        // bumps on each case load
  var whoami = null;        // GET /api/v1/auth/me
  var items = [];
  var cursor = null;
  var defs = {};            // 'tenant|flow|version' -> Promise<definition or null>
  var directory = null;     // Promise<{users, departments}> (null entries when not readable)
  var open = null;          // {case, history} shown in #case-detail
  var pendingAction = null; // action key of the open action form

  function base() { return '/api/v1/tenants/' + encodeURIComponent(current) + '/'; }
  function casePath(id) { return base() + 'cases/' + encodeURIComponent(id); }

  // ------------------------------------------------------------------ formatting

  var dateFormat = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
  });

  /** Milliseconds since the epoch of an RFC 3339 time (any number of fraction digits). */
  function parseTime(iso) {
    if (!iso) return NaN;
    return Date.parse(String(iso).replace(/(\.\d{3})\d+/, '$1'));
  }

  /** A <time> showing `iso` in the browser's time zone. */
  function timeEl(iso) {
    var ms = parseTime(iso);
    var node = oc.el('time', null, isNaN(ms) ? (iso || '') : dateFormat.format(new Date(ms)));
    if (iso) { node.dateTime = iso; node.title = iso; }
    return node;
  }

  function badge(kind, text) { return oc.el('span', 'badge badge-' + kind, text); }

  /** The label of a key in the page's language, or `fallback` when there is none. */
  function label(key, fallback) {
    var text = t(key);
    return text === key ? fallback : text;
  }

  function actionLabel(key) { return label('act_' + key, key); }

  /** Field names with a label of their own (others show their name). */
  var FIELD_LABELS = ['assignee', 'department', 'comment', 'description', 'rating', 'satisfaction'];

  function fieldLabel(name) {
    return FIELD_LABELS.indexOf(name) >= 0 ? t(name) : name;
  }

  function defKey(tenant, flow, version) { return tenant + '|' + flow + '|' + version; }

  /** The cached definition of a case's flow version (null when not loaded or unreadable). */
  function defOf(c) {
    var entry = defs[defKey(current, c.flow, c.flow_version)];
    return entry && entry.value !== undefined ? entry.value : null;
  }

  /** Loads the definitions of these cases' flow versions (failures leave them null). */
  function ensureDefs(cases) {
    var tenant = current;
    return Promise.all(cases.map(function (c) {
      var key = defKey(tenant, c.flow, c.flow_version);
      if (!defs[key]) {
        var entry = { value: undefined };
        entry.promise = oc.api(base() + 'flows/' + encodeURIComponent(c.flow) + '?version=' + encodeURIComponent(c.flow_version))
          .then(function (d) { entry.value = d; }, function () { entry.value = null; });
        defs[key] = entry;
      }
      return defs[key].promise;
    }));
  }

  function flowLabel(c) {
    var def = defOf(c);
    if (!def) return c.flow;
    return (oc.lang === 'zh' && def.name_zh) || def.name || c.flow;
  }

  function stateDef(c) {
    var def = defOf(c);
    if (!def || !def.states) return null;
    for (var i = 0; i < def.states.length; i++) if (def.states[i].key === c.state) return def.states[i];
    return null;
  }

  function stateName(c) {
    var s = stateDef(c);
    if (oc.lang === 'zh' && s && s.name_zh) return s.name_zh;
    return c.state_name || (s && s.name) || c.state;
  }

  /** The state's name and key, e.g. "处理中 PENDINGATLME". */
  function stateEl(c) {
    var node = oc.el('span', 'state');
    node.dataset.state = c.state;
    var name = stateName(c);
    if (name !== c.state) node.appendChild(oc.el('span', 'state-name', name));
    node.appendChild(oc.el('code', 'state-key', c.state));
    return node;
  }

  /** The deadline that matters now: the state's, else the case's. */
  function dueOf(c) { return c.state_due_at || c.case_due_at || null; }

  function dueEl(c) {
    var node = oc.el('span', 'due');
    var due = dueOf(c);
    if (due) node.appendChild(timeEl(due));
    if (c.overdue) {
      node.appendChild(badge('overdue', t('overdue')));
    } else if (due && parseTime(due) - Date.now() <= SOON_MS) {
      node.appendChild(badge('soon', t('due_soon')));
    }
    return node;
  }

  function userLabel(id, users) {
    if (!id) return '';
    if (whoami && whoami.id === id) return t('me') + (whoami.username ? ' (' + whoami.username + ')' : '');
    var u = (users || []).find(function (x) { return x.id === id; });
    return u ? u.display_name + ' (' + u.username + ')' : id;
  }

  function departmentLabel(id, departments) {
    var d = (departments || []).find(function (x) { return x.id === id; });
    return d ? oc.localName(d) : id;
  }

  /** `user:<id>` → a user's label; `system` and others as they are. */
  function actorLabel(actor, users) {
    var m = /^user:(.+)$/.exec(actor || '');
    return m ? userLabel(m[1], users) : (actor || '');
  }

  // ------------------------------------------------------------------ the list

  function renderCounts(counts) {
    counts = counts || {};
    $('count-total').textContent = counts.total === undefined ? '–' : String(counts.total);
    $('count-overdue').textContent = counts.overdue === undefined ? '–' : String(counts.overdue);
    $('count-due-soon').textContent = counts.due_soon === undefined ? '–' : String(counts.due_soon);
  }

  function renderTable() {
    tbody.textContent = '';
    if (!items.length) {
      var tr = oc.el('tr', 'empty');
      var td = oc.el('td', 'muted', t('inbox_empty'));
      td.colSpan = table.tHead.rows[0].cells.length;
      tr.appendChild(td);
      tbody.appendChild(tr);
    }
    items.forEach(function (c) {
      var tr = oc.el('tr', 'case-row');
      tr.dataset.id = c.id;
      tr.dataset.state = c.state;
      if (c.overdue) tr.classList.add('is-overdue');
      if (open && open.case.id === c.id) tr.classList.add('selected');
      var title = oc.el('button', 'link', c.title);
      title.type = 'button';
      title.dataset.open = c.id;
      var cells = [title, flowLabel(c), stateEl(c), dueEl(c), null];
      cells.forEach(function (content, i) {
        var td = oc.el('td');
        if (i === 4) {
          td.className = 'num';
          if (c.escalation_level > 0) td.appendChild(badge('escalated', String(c.escalation_level)));
          else td.textContent = '0';
        } else if (typeof content === 'string') {
          td.textContent = content;
        } else {
          td.appendChild(content);
        }
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
    moreButton.hidden = !cursor;
  }

  function inboxPath() {
    var q = new URLSearchParams();
    if (flowFilter.value) q.set('flow', flowFilter.value);
    if (overdueFilter.value) q.set('overdue', overdueFilter.value);
    q.set('limit', String(PAGE_SIZE));
    return base() + 'inbox?' + q.toString();
  }

  /** Loads the first page again (replace) or the next page (append). False when stale. */
  async function loadInbox(append) {
    var seq = ++listSeq;
    var gen = generation;
    var page = await oc.api(oc.withCursor(inboxPath(), append ? cursor : null));
    var got = (page && page.items) || [];
    await ensureDefs(got);
    if (seq !== listSeq || gen !== generation) return false;
    items = append ? items.concat(got) : got;
    cursor = (page && page.next_cursor) || null;
    var counts = (page && page.counts) || { total: items.length };
    renderCounts(counts);
    renderTable();
    body.dataset.inboxCount = String(counts.total);
    return true;
  }

  /** Fills the flow filter from the tenant's flow definitions (latest version's name). */
  async function loadFlows() {
    var gen = generation;
    var list = await oc.api(base() + 'flows');
    if (gen !== generation) return;
    var names = {};
    (list || []).forEach(function (d) { names[d.key] = d.name || d.key; });
    var previous = flowFilter.value;
    while (flowFilter.options.length > 1) flowFilter.remove(1);
    Object.keys(names).sort().forEach(function (key) {
      var option = oc.el('option', null, names[key] + ' (' + key + ')');
      option.value = key;
      flowFilter.appendChild(option);
    });
    if (names[previous]) flowFilter.value = previous;
  }

  async function loadNotifications() {
    var gen = generation;
    var list = await oc.api(base() + 'notifications');
    if (gen !== generation) return;
    list = list || [];
    notificationList.textContent = '';
    $('notification-count').textContent = list.length ? String(list.length) : '';
    if (!list.length) notificationList.appendChild(oc.el('li', 'muted', t('no_notifications')));
    list.forEach(function (n) {
      var li = oc.el('li', n.read ? 'read' : 'unread');
      li.dataset.id = n.id;
      li.dataset.kind = n.kind;
      var head = oc.el('div', 'notification-head');
      head.appendChild(badge(n.kind === 'sla_breached' ? 'overdue' : 'kind', n.kind));
      head.appendChild(timeEl(n.created_at));
      li.appendChild(head);
      li.appendChild(oc.el('div', 'notification-message', n.message));
      if (n.case_id) {
        var link = oc.el('button', 'link', t('open_case'));
        link.type = 'button';
        link.dataset.open = n.case_id;
        li.appendChild(link);
      }
      notificationList.appendChild(li);
    });
  }

  /** Users and departments for pickers and names; a list the caller may not read is null. */
  function loadDirectory() {
    if (!directory) {
      var settle = function (p) { return p.catch(function () { return null; }); };
      directory = Promise.all([
        settle(oc.listAll(base() + 'users', 20)),
        settle(oc.listAll(base() + 'departments', 20)),
      ]).then(function (r) { return { users: r[0], departments: r[1] }; });
    }
    return directory;
  }

  function showPageErrors(results) {
    var errors = results.filter(function (r) { return r.status === 'rejected'; })
      .map(function (r) { return r.reason && r.reason.message; });
    oc.showError(pageError, errors.join('\n'));
  }

  async function loadTenant(code) {
    var gen = ++generation;
    current = code;
    body.dataset.inboxReady = '0';
    body.dataset.tenant = code;
    oc.showError(pageError, '');
    items = [];
    cursor = null;
    directory = null;
    flowFilter.value = '';
    closeDetail();
    renderCounts(null);
    var results = await Promise.allSettled([loadFlows(), loadInbox(false), loadNotifications()]);
    if (gen !== generation) return;
    showPageErrors(results);
    if (results[1].status === 'rejected') {
      items = [];
      renderTable();
      body.dataset.inboxCount = '0';
    }
    body.dataset.inboxReady = '1';
  }

  /** Reloads the list, counts and notifications (after a change or on request). */
  async function refresh() {
    var gen = generation;
    var results = await Promise.allSettled([loadInbox(false), loadNotifications()]);
    if (gen === generation) showPageErrors(results);
  }

  // ------------------------------------------------------------------ the case

  function closeDetail() {
    detailSeq++;
    open = null;
    closeActionForm();
    detail.hidden = true;
    delete detail.dataset.caseId;
    delete detail.dataset.state;
    delete detail.dataset.version;
    tbody.querySelectorAll('tr.selected').forEach(function (tr) { tr.classList.remove('selected'); });
  }

  function fact(dl, term, value) {
    if (value === null || value === undefined || value === '') return;
    dl.appendChild(oc.el('dt', null, term));
    var dd = oc.el('dd');
    if (typeof value === 'string' || typeof value === 'number') dd.textContent = String(value);
    else dd.appendChild(value);
    dl.appendChild(dd);
  }

  function dataValue(v) {
    if (v === null || v === undefined) return '';
    return typeof v === 'string' ? v : JSON.stringify(v);
  }

  /** Sign for (签收): open cases that are unassigned (and that the caller can act on) or already theirs. */
  function canClaim(c) {
    if (c.closed_at) return false;
    if (c.assignee_id) return !!whoami && c.assignee_id === whoami.id;
    return (c.allowed_actions || []).length > 0;
  }

  function renderActions() {
    var c = open.case;
    claimButton.hidden = !canClaim(c);
    actionButtons.textContent = '';
    var actions = c.allowed_actions || [];
    actions.forEach(function (key) {
      var button = oc.el('button', pendingAction === key ? 'active' : 'secondary', actionLabel(key));
      button.type = 'button';
      button.dataset.action = key;
      actionButtons.appendChild(button);
    });
    if (!actions.length && claimButton.hidden) actionButtons.appendChild(oc.el('span', 'muted', t('no_actions')));
  }

  function renderDetail(dir) {
    var c = open.case;
    dir = dir || {};
    detail.hidden = false;
    detail.dataset.caseId = c.id;
    detail.dataset.state = c.state;
    detail.dataset.version = String(c.version);
    $('case-title').textContent = c.title;

    var meta = $('case-meta');
    meta.textContent = '';
    fact(meta, t('flow'), flowLabel(c) + (flowLabel(c) === c.flow ? '' : ' (' + c.flow + ')') + ' v' + c.flow_version);
    var state = stateEl(c);
    state.id = 'case-state';
    fact(meta, t('state'), state);
    var due = dueEl(c);
    if (c.breached) due.appendChild(badge('overdue', t('breached')));
    fact(meta, t('due'), dueOf(c) || c.overdue ? due : '');
    if (c.case_due_at && c.state_due_at) fact(meta, t('case_due'), timeEl(c.case_due_at));
    fact(meta, t('escalation'), c.escalation_level > 0 ? badge('escalated', String(c.escalation_level)) : '0');
    fact(meta, t('assignee'), c.assignee_id ? userLabel(c.assignee_id, dir.users) : t('unassigned'));
    if (c.queue_department_id || c.queue_role) {
      var queue = [c.queue_department_id ? departmentLabel(c.queue_department_id, dir.departments) : '', c.queue_role || '']
        .filter(Boolean).join(' · ');
      fact(meta, t('queue'), queue);
    }
    fact(meta, t('applicant'), userLabel(c.applicant_id, dir.users));
    fact(meta, t('created_at'), timeEl(c.created_at));
    if (c.closed_at) fact(meta, t('closed_at'), timeEl(c.closed_at));

    var data = $('case-data');
    data.textContent = '';
    var keys = Object.keys(c.data || {});
    if (!keys.length) data.appendChild(oc.el('dd', 'muted', t('empty')));
    keys.forEach(function (k) { fact(data, fieldLabel(k), dataValue(c.data[k]) || '—'); });

    var history = $('case-history');
    history.textContent = '';
    (open.history || []).forEach(function (h) {
      var li = oc.el('li');
      li.dataset.seq = String(h.seq);
      li.dataset.action = h.action;
      var head = oc.el('div', 'timeline-head');
      head.appendChild(timeEl(h.at));
      head.appendChild(oc.el('strong', null, actionLabel(h.action)));
      head.appendChild(oc.el('span', 'muted', actorLabel(h.actor, dir.users)));
      li.appendChild(head);
      var move = (h.from_state && h.from_state !== h.to_state ? h.from_state + ' → ' : '') + h.to_state;
      li.appendChild(oc.el('div', 'timeline-move', move));
      if (h.assignee_id) li.appendChild(oc.el('div', 'muted', t('assignee') + ': ' + userLabel(h.assignee_id, dir.users)));
      if (h.comment) li.appendChild(oc.el('div', 'timeline-comment', h.comment));
      (h.attachments || []).forEach(function (a) {
        var link = oc.el('a', 'attachment', a.name);
        if (/^https?:\/\//i.test(a.url || '')) { link.href = a.url; link.rel = 'noopener noreferrer'; link.target = '_blank'; }
        li.appendChild(link);
      });
      history.appendChild(li);
    });
    renderActions();
    tbody.querySelectorAll('tr').forEach(function (tr) {
      tr.classList.toggle('selected', tr.dataset.id === c.id);
    });
  }

  /** Shows a case (reloading it when it is already open; `keepMessages` keeps notices). */
  async function openCase(id, keepMessages) {
    var gen = generation;
    var seq = ++detailSeq;
    var same = open && open.case.id === id;
    if (!same) {
      closeActionForm();
      open = null;
      $('case-title').textContent = t('loading');
      ['case-meta', 'case-data', 'case-history'].forEach(function (x) { $(x).textContent = ''; });
      actionButtons.textContent = '';
      claimButton.hidden = true;
      detail.dataset.caseId = id;
      delete detail.dataset.state;
      detail.hidden = false;
    }
    if (!keepMessages) {
      oc.showError(caseError, '');
      caseStatus.hidden = true;
    }
    detail.dataset.loading = '1';
    try {
      var loaded = await Promise.all([oc.api(casePath(id)), loadDirectory()]);
      var d = loaded[0];
      await ensureDefs([d.case]);
      if (gen !== generation || seq !== detailSeq) return;
      open = { case: d.case, history: d.history || [] };
      renderDetail(loaded[1]);
      if (!same) detail.scrollIntoView({ block: 'nearest' });
    } catch (err) {
      if (gen !== generation || seq !== detailSeq) return;
      if (err instanceof oc.ApiError && err.status === 404 && same) {
        oc.showError(caseError, t('case_gone'));
      } else {
        oc.showError(caseError, err);
        if (!open) $('case-title').textContent = t('case');
      }
    } finally {
      if (seq === detailSeq) detail.dataset.loading = '0';
    }
  }

  /** After the case changed: show the answer at once, then reload the case and the list. */
  async function afterChange(view, message) {
    if (open && open.case.id === view.id) {
      open.case = view;
      renderDetail(await loadDirectory());
    }
    caseStatus.textContent = message;
    caseStatus.hidden = false;
    await Promise.all([openCase(view.id, true), refresh()]);
  }

  // ------------------------------------------------------------------ actions

  function closeActionForm() {
    pendingAction = null;
    form.hidden = true;
    form.reset();
    fieldsEl.textContent = '';
    oc.showError(actionError, '');
    $('comment-required').hidden = true;
    form.elements.comment.removeAttribute('aria-invalid');
    actionButtons.querySelectorAll('button.active').forEach(function (b) { b.className = 'secondary'; });
  }

  /** The fields the definition requires for `key` from the open case's state. */
  function requiredFields(key) {
    var def = defOf(open.case);
    var out = [];
    ((def && def.actions) || []).forEach(function (a) {
      if (a.key === key && (a.from || []).indexOf(open.case.state) >= 0) {
        (a.required || []).forEach(function (f) { if (out.indexOf(f) < 0) out.push(f); });
      }
    });
    return out;
  }

  /** The input of field `name` in the action form, added when missing. */
  async function fieldInput(name) {
    if (name === 'comment') {
      $('comment-required').hidden = false;
      return form.elements.comment;
    }
    var existing = fieldsEl.querySelector('[data-field="' + CSS.escape(name) + '"]');
    if (existing) return existing;
    var source = PICKERS[name];
    var list = source ? (await loadDirectory())[source] : null;
    existing = fieldsEl.querySelector('[data-field="' + CSS.escape(name) + '"]');
    if (existing) return existing;
    var wrap = oc.el('label', 'field', fieldLabel(name) + ' ');
    wrap.appendChild(oc.el('span', 'req', '(' + t('required') + ')'));
    var input;
    if (list && list.length) {
      input = oc.el('select');
      input.appendChild(oc.el('option', null, t('choose'))).value = '';
      var options = source === 'users'
        ? list.filter(function (u) { return !u.kind || u.kind === 'staff'; })
        : list;
      if (!options.length) options = list;
      options.forEach(function (x) {
        var text = source === 'users' ? x.display_name + ' (' + x.username + ')' : oc.localName(x) + (x.code ? ' (' + x.code + ')' : '');
        var option = oc.el('option', null, text);
        option.value = x.id;
        option.dataset.username = x.username || '';
        input.appendChild(option);
      });
    } else {
      input = oc.el('input');
      input.type = 'text';
      input.autocomplete = 'off';
      input.spellcheck = false;
      if (source) input.placeholder = t(source === 'users' ? 'user_id' : 'department_id');
    }
    input.name = name;
    input.dataset.field = name;
    wrap.appendChild(input);
    fieldsEl.appendChild(wrap);
    return input;
  }

  async function openActionForm(key) {
    closeActionForm();
    pendingAction = key;
    $('action-form-title').textContent = actionLabel(key);
    form.hidden = false;
    renderActions();
    var first = null;
    for (var f of requiredFields(key)) {
      var input = await fieldInput(f);
      if (pendingAction !== key) return;
      if (!first) first = input;
    }
    (first || form.elements.comment).focus();
  }

  /** Shows an action's error; asks for missing fields; refreshes what changed. */
  async function actionFailed(err) {
    var problem = (err && err.problem) || {};
    var message = err && err.message ? err.message : String(err);
    if (open && Array.isArray(problem.allowed_actions)) {
      open.case.allowed_actions = problem.allowed_actions;
      renderActions();
    }
    if (err instanceof oc.ApiError && err.status === 422 && Array.isArray(problem.missing_fields)) {
      var first = null;
      for (var f of problem.missing_fields) {
        var input = await fieldInput(String(f));
        input.setAttribute('aria-invalid', 'true');
        if (!first) first = input;
      }
      if (first) first.focus();
    }
    if (err instanceof oc.ApiError && (err.code === 'conflict' || err.status === 404)) {
      message += '\n' + t(err.status === 404 ? 'case_gone' : 'case_changed');
      if (open) openCase(open.case.id, true);
      refresh();
    }
    oc.showError(actionError, message);
  }

  form.addEventListener('submit', async function (event) {
    event.preventDefault();
    if (!open || !pendingAction) return;
    var id = open.case.id;
    var fields = {};
    fieldsEl.querySelectorAll('[data-field]').forEach(function (input) {
      input.removeAttribute('aria-invalid');
      var v = input.value.trim();
      if (v) fields[input.dataset.field] = v;
    });
    var comment = form.elements.comment.value.trim();
    form.elements.comment.removeAttribute('aria-invalid');
    var req = { action: pendingAction, fields: fields, expected_version: open.case.version };
    if (comment) req.comment = comment;
    oc.showError(actionError, '');
    actionSubmit.disabled = true;
    try {
      var view = await oc.api(casePath(id) + '/actions', { method: 'POST', json: req });
      closeActionForm();
      await afterChange(view, t('action_done'));
    } catch (err) {
      await actionFailed(err);
    } finally {
      actionSubmit.disabled = false;
    }
  });

  form.addEventListener('input', function (event) {
    if (event.target.removeAttribute) event.target.removeAttribute('aria-invalid');
  });

  $('action-cancel').addEventListener('click', function () {
    closeActionForm();
    if (open) renderActions();
  });

  actionButtons.addEventListener('click', function (event) {
    var button = event.target.closest('button[data-action]');
    if (!button || !open) return;
    openActionForm(button.dataset.action).catch(function (err) { oc.showError(actionError, err); });
  });

  claimButton.addEventListener('click', async function () {
    if (!open) return;
    oc.showError(caseError, '');
    claimButton.disabled = true;
    try {
      var view = await oc.api(casePath(open.case.id) + '/claim', {
        method: 'POST', json: { expected_version: open.case.version },
      });
      await afterChange(view, t('claimed'));
    } catch (err) {
      oc.showError(caseError, err);
      if (err instanceof oc.ApiError && err.code === 'conflict' && open) openCase(open.case.id, true);
    } finally {
      claimButton.disabled = false;
    }
  });

  // ------------------------------------------------------------------ list events

  function openFrom(event) {
    var target = event.target.closest('[data-open]') || event.target.closest('tr[data-id]');
    if (!target) return;
    var id = target.dataset.open || target.dataset.id;
    openCase(id, false);
  }
  tbody.addEventListener('click', openFrom);
  notificationList.addEventListener('click', function (event) {
    if (event.target.closest('[data-open]')) openFrom(event);
  });

  $('case-close').addEventListener('click', closeDetail);

  function reloadList() {
    loadInbox(false).catch(function (err) { oc.showError(pageError, err); });
  }
  flowFilter.addEventListener('change', reloadList);
  overdueFilter.addEventListener('change', reloadList);
  $('inbox-filters').addEventListener('submit', function (event) { event.preventDefault(); reloadList(); });
  refreshButton.addEventListener('click', async function () {
    refreshButton.disabled = true;
    try {
      await refresh();
    } finally {
      refreshButton.disabled = false;
    }
  });
  moreButton.addEventListener('click', async function () {
    moreButton.disabled = true;
    try {
      await loadInbox(true);
    } catch (err) {
      oc.showError(pageError, err);
    } finally {
      moreButton.disabled = false;
    }
  });

  oc.me().then(function (p) {
    whoami = p;
    if (open) loadDirectory().then(function (dir) { if (open) renderDetail(dir); });
  }, function () { whoami = null; });
  oc.initTenants(loadTenant).catch(function (err) {
    oc.showError(pageError, err);
    body.dataset.inboxReady = '1';
  });
})();
