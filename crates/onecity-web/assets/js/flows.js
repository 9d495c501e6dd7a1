/* onecity console: the flow designer (流程设计器, /console/flows).
 *
 * Lists a tenant's workflow definitions with their versions (GET /api/v1/tenants/{t}/flows),
 * opens one version (GET …/flows/{key}?version=n) as a diagram (states as boxes, actions as
 * labelled arrows, laid out left to right by the small layered layout below), and edits it
 * without typing JSON: states (key, names, start, terminal, deadline, warning, clock),
 * actions (key, from, to, roles, required fields, reopen), declared roles, the whole-case
 * deadline and the reopen window. Every edit is checked by the workflow engine itself
 * (POST …/flows?validate_only=true, a dry run) and the problems it lists are shown next to
 * the diagram in the page's language, with the states and actions they name highlighted.
 * Saving posts the definition (POST …/flows): the engine stores a new version or refuses
 * with every problem. The designer edits the definition the engine gave in place, so what
 * it does not edit (escalations, action events, …) is saved unchanged, and a definition
 * saved without edits is the same definition.
 *
 * Layout: a layered (Sugiyama-style) layout written here rather than a vendored library:
 * flows have tens of states, and the ~200 lines below (cycle breaking by DFS from the start
 * state, longest-path layers, dummy nodes for long edges, barycentre ordering sweeps,
 * ordered least-squares placement) are smaller than dagre with graphlib and leave node
 * sizing to the browser (the boxes are HTML, so Chinese names wrap naturally).
 *
 * For tests: body[data-flows-ready|data-tenant|data-flow-count|data-flow-key|
 * data-flow-version|data-designer-ready|data-dirty|data-checking|data-problem-count|
 * data-save-state|data-read-only]; window.onecityFlows.definition() (the definition as it
 * would be saved), .saved() (the version as loaded) and .problems() (the problems the
 * engine listed last). */
(function () {
  'use strict';
  var oc = window.onecity;
  var t = oc.t;
  var el = oc.el;
  var body = document.body;
  var zh = oc.lang === 'zh';
  body.dataset.flowsReady = '0';
  body.dataset.designerReady = '0';
  if (!oc.requireToken()) return;

  var SVG = 'http://www.w3.org/2000/svg';
  var UNITS = ['working_days', 'working_hours', 'hours'];
  var PSEUDO_ROLES = ['APPLICANT', 'ASSIGNEE', 'SYSTEM'];
  var NODE_W = 156;
  var LAYER_GAP = 100;
  var NODE_GAP = 26;
  var DUMMY_GAP = 16;
  var MARGIN = 28;
  var LOOP_H = 30;

  var $ = function (id) { return document.getElementById(id); };
  var pageError = $('page-error');
  var table = document.querySelector('#flows-table tbody');
  var designer = $('designer');
  var diagram = $('diagram');
  var versionSelect = $('version-select');
  var saveBtn = $('save-flow');
  var discardBtn = $('discard');
  var zoomBtn = $('zoom-toggle');
  var saveError = $('save-error');
  var saveStatus = $('save-status');
  var editor = $('editor');
  var propsBody = $('flow-props-body');
  var jsonView = $('json-view');
  var jsonText = $('json-text');
  var jsonError = $('json-error');
  var problemList = $('problem-list');

  var tenant = null;
  var infos = [];
  var flowKey = null;
  var version = null;
  var def = null;
  var savedText = '';
  var savedCanonical = '';
  var selection = null;
  var problems = [];
  var readOnly = false;
  var fit = true;
  var checkSeq = 0;
  var checkTimer = null;
  var shownSignature = null;

  // ------------------------------------------------------------------ small helpers

  function fmt(key, params) {
    return t(key).replace(/\{(\w+)\}/g, function (m, k) {
      return params && params[k] !== undefined && params[k] !== null ? String(params[k]) : m;
    });
  }
  function has(o, k) { return Object.prototype.hasOwnProperty.call(o, k); }
  function base() { return '/api/v1/tenants/' + encodeURIComponent(tenant) + '/flows'; }
  function svg(tag, attrs) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }
  function stateName(s) {
    if (!s) return '';
    return (zh ? s.name_zh || s.name : s.name || s.name_zh) || s.key;
  }
  function flowName(d) { return (zh ? d.name_zh || d.name : d.name || d.name_zh) || d.key; }
  function spanUnit(span) {
    if (!span) return null;
    for (var i = 0; i < UNITS.length; i++) if (has(span, UNITS[i])) return UNITS[i];
    return null;
  }
  /** "3 个工作日" / "3 working days". */
  function spanText(span) {
    var unit = spanUnit(span);
    if (!unit) return '';
    var n = span[unit];
    var key = { working_days: 'flows_span_wd', working_hours: 'flows_span_wh', hours: 'flows_span_h' }[unit];
    return fmt(n === 1 ? key + '1' : key, { n: n });
  }
  function uniqueKey(prefix, taken) {
    if (taken.indexOf(prefix) < 0) return prefix;
    for (var i = 2; ; i++) if (taken.indexOf(prefix + '_' + i) < 0) return prefix + '_' + i;
  }
  function dateText(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return iso || '';
    return d.toLocaleString(zh ? 'zh-CN' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short' });
  }
  /** JSON with object keys sorted, so that two definitions compare by content (a
   * definition pasted into the JSON view may list its keys in any order). */
  function canonical(value) {
    if (Array.isArray(value)) return '[' + value.map(canonical).join(',') + ']';
    if (value && typeof value === 'object') {
      return '{' + Object.keys(value).sort().filter(function (k) { return value[k] !== undefined; })
        .map(function (k) { return JSON.stringify(k) + ':' + canonical(value[k]); }).join(',') + '}';
    }
    return JSON.stringify(value);
  }
  function isDirty() { return !!def && canonical(def) !== savedCanonical; }

  // ------------------------------------------------------------------ the list

  function grouped() {
    var by = {};
    var keys = [];
    infos.forEach(function (info) {
      if (!by[info.key]) { by[info.key] = []; keys.push(info.key); }
      by[info.key].push(info);
    });
    keys.sort();
    return keys.map(function (k) {
      var versions = by[k].slice().sort(function (a, b) { return a.version - b.version; });
      return { key: k, versions: versions, latest: versions[versions.length - 1] };
    });
  }

  function renderList() {
    table.textContent = '';
    var flows = grouped();
    if (!flows.length) {
      var tr = el('tr', 'empty');
      var td = el('td', 'muted', t('flows_none'));
      td.colSpan = 5;
      tr.appendChild(td);
      table.appendChild(tr);
    }
    flows.forEach(function (f) {
      var tr = el('tr', 'case-row' + (f.key === flowKey ? ' selected' : ''));
      tr.dataset.key = f.key;
      var keyCell = el('td');
      var open = el('button', 'link', f.key);
      open.type = 'button';
      open.addEventListener('click', function (e) { e.stopPropagation(); confirmLeave() && openFlow(f.key, null); });
      keyCell.appendChild(open);
      tr.appendChild(keyCell);
      tr.appendChild(el('td', null, flowName(f.latest)));
      tr.appendChild(el('td', 'fd-wide', f.latest.module));
      tr.appendChild(el('td', 'fd-versions', f.versions.map(function (v) { return 'v' + v.version; }).join(' ')));
      tr.appendChild(el('td', 'fd-wide', dateText(f.latest.created_at)));
      tr.addEventListener('click', function () { confirmLeave() && openFlow(f.key, null); });
      table.appendChild(tr);
    });
    body.dataset.flowCount = String(flows.length);
  }

  async function loadList() {
    infos = await oc.api(base());
    renderList();
  }

  function versionsOf(key) {
    return infos.filter(function (i) { return i.key === key; })
      .map(function (i) { return i.version; })
      .sort(function (a, b) { return b - a; });
  }

  function confirmLeave() {
    return !isDirty() || window.confirm(t('flows_discard_confirm'));
  }

  // ------------------------------------------------------------------ opening and saving

  async function openFlow(key, ver) {
    oc.showError(pageError, '');
    body.dataset.designerReady = '0';
    try {
      var path = base() + '/' + encodeURIComponent(key) + (ver ? '?version=' + ver : '');
      var d = await oc.api(path);
      flowKey = key;
      version = ver || versionsOf(key)[0] || null;
      saveStatus.hidden = true;
      oc.showError(saveError, '');
      body.dataset.saveState = '';
      load(d);
      var params = new URLSearchParams(location.search);
      params.set('flow', key);
      if (ver) params.set('version', String(ver)); else params.delete('version');
      history.replaceState(null, '', location.pathname + '?' + params.toString());
    } catch (err) {
      oc.showError(pageError, err);
    }
  }

  function load(d) {
    def = d;
    savedText = JSON.stringify(d);
    savedCanonical = canonical(d);
    selection = null;
    designer.hidden = false;
    renderList();
    renderHead();
    renderAll({ editor: true, props: true });
    body.dataset.flowKey = flowKey;
    body.dataset.flowVersion = String(version || '');
    scheduleCheck(0);
    body.dataset.designerReady = '1';
  }

  async function save() {
    if (!def || readOnly) return;
    clearTimeout(checkTimer);
    checkSeq++;
    body.dataset.checking = '0';
    body.dataset.saveState = 'saving';
    saveBtn.disabled = true;
    oc.showError(saveError, '');
    saveStatus.textContent = t('flows_saving');
    saveStatus.hidden = false;
    try {
      var info = await oc.api(base(), { method: 'POST', json: def });
      await loadList();
      var d = await oc.api(base() + '/' + encodeURIComponent(info.key) + '?version=' + info.version);
      flowKey = info.key;
      version = info.version;
      load(d);
      saveStatus.textContent = fmt('flows_saved', { n: info.version });
      saveStatus.hidden = false;
      body.dataset.saveState = 'saved';
    } catch (err) {
      saveStatus.hidden = true;
      if (err instanceof oc.ApiError && err.status === 422 && Array.isArray(err.problem.problems)) {
        showProblems(err.problem.problems);
        oc.showError(saveError, fmt('flows_refused', { n: err.problem.problems.length }));
        body.dataset.saveState = 'refused';
      } else {
        oc.showError(saveError, err);
        body.dataset.saveState = 'error';
      }
      updateDirty();
    }
  }

  // ------------------------------------------------------------------ the engine's check

  function scheduleCheck(delay) {
    clearTimeout(checkTimer);
    if (!def) return;
    body.dataset.checking = '1';
    $('problems-checking').hidden = false;
    checkTimer = setTimeout(runCheck, delay === undefined ? 450 : delay);
  }

  async function runCheck() {
    var seq = ++checkSeq;
    try {
      var result = await oc.api(base() + '?validate_only=true', { method: 'POST', json: def });
      if (seq !== checkSeq) return;
      setReadOnly(false);
      showProblems(result.problems || []);
    } catch (err) {
      if (seq !== checkSeq) return;
      if (err instanceof oc.ApiError && err.status === 403) {
        setReadOnly(true);
        showProblems(null);
      } else {
        oc.showError(saveError, err);
      }
    } finally {
      if (seq === checkSeq) {
        body.dataset.checking = '0';
        $('problems-checking').hidden = true;
      }
    }
  }

  function setReadOnly(value) {
    if (readOnly === value && body.dataset.readOnly !== undefined) return;
    readOnly = value;
    body.dataset.readOnly = value ? '1' : '0';
    $('readonly-note').hidden = !value;
    ['add-state', 'add-action', 'json-apply'].forEach(function (id) { $(id).disabled = value; });
    renderAll({ editor: true, props: true });
  }

  /** The problem in the page's language, from its code and what it names. */
  function problemText(p) {
    var params = {
      state: p.state === '' ? t('flows_empty') : p.state,
      action: p.action === '' ? t('flows_empty') : p.action,
      role: p.role,
      escalation: typeof p.escalation === 'number' ? p.escalation + 1 : undefined,
      detail: p.detail,
      states: (p.states || []).join(zh ? '、' : ', '),
    };
    var key = 'fp_' + p.code;
    if (p.code === 'span_out_of_range') {
      if (typeof p.escalation === 'number') key = 'fp_span_escalation';
      else if (p.state !== undefined) key = 'fp_span_state';
      else key = 'fp_span_flow';
      params.field = t('fp_field_' + String(p.field || '').replace('.', '_'));
    }
    return t(key) === key ? p.message : fmt(key, params);
  }

  function showProblems(list) {
    // The diagram is drawn again only when the highlights change, so that a check
    // answering while someone clicks a box does not replace the box under the pointer.
    var signature = JSON.stringify(list);
    var redraw = signature !== shownSignature;
    shownSignature = signature;
    problems = list || [];
    problemList.textContent = '';
    var box = $('problems-box');
    box.hidden = list === null;
    $('problems-none').hidden = problems.length > 0 || list === null;
    $('problem-count').textContent = problems.length ? '(' + problems.length + ')' : '';
    box.classList.toggle('has-problems', problems.length > 0);
    problems.forEach(function (p) {
      var li = el('li', 'fd-problem');
      li.dataset.code = p.code;
      if (p.state !== undefined) li.dataset.state = p.state;
      if (p.action !== undefined) li.dataset.action = p.action;
      if (p.role !== undefined) li.dataset.role = p.role;
      var btn = el('button', 'link fd-problem-text', problemText(p));
      btn.type = 'button';
      btn.title = p.message;
      btn.addEventListener('click', function () { focusProblem(p); });
      li.appendChild(btn);
      problemList.appendChild(li);
    });
    body.dataset.problemCount = String(problems.length);
    if (redraw) renderDiagram();
  }

  function focusProblem(p) {
    if (p.action !== undefined) {
      var i = def.actions.findIndex(function (a) { return a.key === p.action && (!p.state || a.from.indexOf(p.state) >= 0 || a.to === p.state); });
      if (i < 0) i = def.actions.findIndex(function (a) { return a.key === p.action; });
      if (i >= 0) { select('action', i, true); return; }
    }
    if (p.state !== undefined) {
      var s = def.states.findIndex(function (x) { return x.key === p.state; });
      if (s >= 0) select('state', s, true);
    }
  }

  function problemStates() {
    var set = {};
    problems.forEach(function (p) {
      if (p.state !== undefined && p.action === undefined) set[p.state] = true;
      if (p.code === 'to_undefined_state' || p.code === 'from_undefined_state') set[p.state] = true;
      (p.states || []).forEach(function (k) { set[k] = true; });
    });
    return set;
  }

  function problemActions() {
    var set = {};
    problems.forEach(function (p) { if (p.action !== undefined) set[p.action] = true; });
    return set;
  }

  // ------------------------------------------------------------------ editing

  function changed(what) {
    what = what || {};
    saveStatus.hidden = true;
    oc.showError(saveError, '');
    body.dataset.saveState = '';
    renderAll(what);
    scheduleCheck();
  }

  function renderAll(what) {
    what = what || {};
    updateDirty();
    renderDiagram();
    if (what.editor) renderEditor();
    if (what.props) renderProps();
    refreshJson(false);
  }

  function updateDirty() {
    var dirty = isDirty();
    body.dataset.dirty = dirty ? '1' : '0';
    $('dirty-flag').hidden = !dirty;
    saveBtn.disabled = !dirty || readOnly;
    discardBtn.disabled = !dirty;
  }

  function select(kind, index, scroll) {
    selection = kind ? { kind: kind, index: index } : null;
    renderDiagram();
    renderEditor();
    if (scroll) editor.scrollIntoView({ block: 'nearest' });
  }

  function renameState(oldKey, newKey) {
    def.states.forEach(function (s) { if (s.key === oldKey) s.key = newKey; });
    def.actions.forEach(function (a) {
      a.from = a.from.map(function (f) { return f === oldKey ? newKey : f; });
      if (a.to === oldKey) a.to = newKey;
    });
  }

  function deleteState(index) {
    var key = def.states[index].key;
    def.states.splice(index, 1);
    var before = def.actions.length;
    def.actions = def.actions.filter(function (a) {
      a.from = a.from.filter(function (f) { return f !== key; });
      return a.from.length > 0 && a.to !== key;
    });
    selection = null;
    changed({ editor: true });
    saveStatus.textContent = fmt('flows_deleted_state', { key: key, n: before - def.actions.length });
    saveStatus.hidden = false;
  }

  function addState() {
    var key = uniqueKey('NEW_STATE', def.states.map(function (s) { return s.key; }));
    def.states.push({
      key: key, name: null, name_zh: null, start: false, terminal: false, updatable: false,
      sla: null, clock: 'on_entry', escalations: [],
    });
    selection = { kind: 'state', index: def.states.length - 1 };
    changed({ editor: true });
    var input = $('st-key');
    if (input) { input.focus(); input.select(); }
  }

  function addAction() {
    var key = uniqueKey('NEW_ACTION', def.actions.map(function (a) { return a.key; }));
    var from = selection && selection.kind === 'state' ? def.states[selection.index].key : null;
    if (!from) {
      var start = def.states.find(function (s) { return s.start; }) || def.states[0];
      from = start ? start.key : '';
    }
    def.actions.push({ key: key, from: from ? [from] : [], to: '', roles: [], required: [], reopen: false, events: [] });
    selection = { kind: 'action', index: def.actions.length - 1 };
    changed({ editor: true });
    var input = $('act-key');
    if (input) { input.focus(); input.select(); }
  }

  // --- form pieces

  function labelled(text, control, className) {
    var label = el('label', className || 'field');
    label.appendChild(document.createTextNode(text));
    label.appendChild(control);
    return label;
  }

  function textInput(id, value, onChange, eventName) {
    var input = el('input');
    input.id = id;
    input.value = value === null || value === undefined ? '' : value;
    input.disabled = readOnly;
    input.addEventListener(eventName || 'input', function () { onChange(input.value); });
    return input;
  }

  function checkbox(id, text, checked, onChange) {
    var label = el('label', 'fd-check');
    var input = el('input');
    input.type = 'checkbox';
    input.id = id;
    input.checked = !!checked;
    input.disabled = readOnly;
    input.addEventListener('change', function () { onChange(input.checked); });
    label.appendChild(input);
    label.appendChild(document.createTextNode(' ' + text));
    return label;
  }

  /** A span editor: a switch, an amount and a unit. `onChange(span or null)`. */
  function spanEditor(prefix, toggleText, span, onChange, disabled) {
    var box = el('div', 'fd-span');
    var on = el('input');
    on.type = 'checkbox';
    on.id = prefix + '-on';
    on.checked = !!span;
    var toggle = el('label', 'fd-check');
    toggle.appendChild(on);
    toggle.appendChild(document.createTextNode(' ' + toggleText));
    var amount = el('input');
    amount.type = 'number';
    amount.id = prefix + '-n';
    amount.min = '0';
    amount.step = 'any';
    amount.setAttribute('aria-label', toggleText + ': ' + t('flows_amount'));
    var unit = el('select');
    unit.id = prefix + '-unit';
    unit.setAttribute('aria-label', toggleText + ': ' + t('flows_unit'));
    UNITS.forEach(function (u) {
      var option = el('option', null, t('flows_unit_' + u));
      option.value = u;
      unit.appendChild(option);
    });
    var current = spanUnit(span) || 'working_days';
    unit.value = current;
    amount.value = span ? String(span[current]) : '1';
    function sync() {
      on.disabled = readOnly || !!disabled;
      amount.disabled = unit.disabled = readOnly || !!disabled || !on.checked;
      amount.step = unit.value === 'working_days' ? '1' : 'any';
    }
    function emit() {
      sync();
      if (!on.checked) { onChange(null); return; }
      var value = parseFloat(amount.value);
      if (!isFinite(value)) value = 0;
      // Working days are whole days and never negative in the engine's format; zero and
      // other out-of-range amounts are left for the engine to report.
      if (unit.value === 'working_days') value = Math.max(0, Math.round(value));
      var out = {};
      out[unit.value] = value;
      onChange(out);
    }
    on.addEventListener('change', emit);
    amount.addEventListener('input', emit);
    unit.addEventListener('change', emit);
    sync();
    box.appendChild(toggle);
    var row = el('div', 'fd-span-row');
    row.appendChild(amount);
    row.appendChild(unit);
    box.appendChild(row);
    return box;
  }

  function section(title) {
    var s = el('fieldset', 'fd-group');
    s.appendChild(el('legend', null, title));
    return s;
  }

  function escalationText(e) {
    var after = spanText(e.after);
    var then = e.then || {};
    if (then.notify) return fmt('flows_esc_notify', { span: after, roles: (then.notify.roles || []).join(', ') });
    if (then.reassign) return fmt('flows_esc_reassign', { span: after, role: then.reassign.role });
    if (then.action) return fmt('flows_esc_action', { span: after, action: then.action.action });
    return after + ': ' + JSON.stringify(then);
  }

  function renderEditor() {
    editor.textContent = '';
    if (!def || !selection) {
      editor.appendChild(el('p', 'muted', t('flows_select_hint')));
      editor.dataset.kind = '';
      return;
    }
    if (selection.kind === 'state' && def.states[selection.index]) renderStateEditor(def.states[selection.index]);
    else if (selection.kind === 'action' && def.actions[selection.index]) renderActionEditor(def.actions[selection.index]);
    else { selection = null; renderEditor(); }
  }

  function renderStateEditor(s) {
    editor.dataset.kind = 'state';
    var heading = el('h3', null, t('flows_state') + ' ' + s.key);
    heading.id = 'editor-heading';
    editor.appendChild(heading);
    // Applied when the field is left (not on every key), so that the references in the
    // actions follow one rename; the form stays as it is, so focus moves on normally.
    var keyInput = textInput('st-key', s.key, function (value) {
      var next = value.trim();
      if (!next) { keyInput.value = s.key; return; }
      if (next === s.key) return;
      renameState(s.key, next);
      heading.textContent = t('flows_state') + ' ' + next;
      changed();
    }, 'change');
    keyInput.maxLength = 64;
    keyInput.spellcheck = false;
    editor.appendChild(labelled(t('flows_key_field'), keyInput));
    editor.appendChild(labelled(t('flows_name_zh'), textInput('st-name-zh', s.name_zh, function (v) { s.name_zh = v.trim() ? v : null; changed(); })));
    editor.appendChild(labelled(t('flows_name_en'), textInput('st-name', s.name, function (v) { s.name = v.trim() ? v : null; changed(); })));
    editor.appendChild(checkbox('st-start', t('flows_is_start'), s.start, function (on) {
      if (on) def.states.forEach(function (x) { x.start = false; });
      s.start = on;
      changed({ editor: true });
    }));
    editor.appendChild(checkbox('st-terminal', t('flows_is_terminal'), s.terminal, function (on) { s.terminal = on; changed(); }));
    editor.appendChild(checkbox('st-updatable', t('flows_updatable'), s.updatable, function (on) { s.updatable = on; changed(); }));

    var deadline = section(t('flows_deadline'));
    deadline.appendChild(spanEditor('st-sla', t('flows_has_deadline'), s.sla && s.sla.due, function (span) {
      var had = !!s.sla;
      if (!span) s.sla = null;
      else if (s.sla) s.sla.due = span;
      else s.sla = { due: span, warn_before: null };
      changed({ editor: had !== !!s.sla });
    }));
    deadline.appendChild(spanEditor('st-warn', t('flows_has_warn'), s.sla && s.sla.warn_before, function (span) {
      if (s.sla) s.sla.warn_before = span;
      changed();
    }, !s.sla));
    var clock = el('select');
    clock.id = 'st-clock';
    clock.disabled = readOnly;
    ['on_entry', 'on_claim'].forEach(function (c) {
      var option = el('option', null, t('flows_clock_' + c));
      option.value = c;
      clock.appendChild(option);
    });
    clock.value = s.clock || 'on_entry';
    clock.addEventListener('change', function () { s.clock = clock.value; changed(); });
    deadline.appendChild(labelled(t('flows_clock'), clock));
    editor.appendChild(deadline);

    if (s.escalations && s.escalations.length) {
      var esc = section(t('flows_escalations'));
      var list = el('ol', 'fd-escalations');
      s.escalations.forEach(function (e) { list.appendChild(el('li', null, escalationText(e))); });
      esc.appendChild(list);
      esc.appendChild(el('p', 'muted', t('flows_escalations_note')));
      editor.appendChild(esc);
    }
    var del = el('button', 'secondary fd-danger', t('flows_delete_state'));
    del.type = 'button';
    del.id = 'st-delete';
    del.disabled = readOnly;
    del.addEventListener('click', function () { deleteState(selection.index); });
    editor.appendChild(del);
  }

  function renderActionEditor(a) {
    editor.dataset.kind = 'action';
    var heading = el('h3', null, t('flows_action') + ' ' + a.key);
    heading.id = 'editor-heading';
    editor.appendChild(heading);
    var keyInput = textInput('act-key', a.key, function (v) {
      a.key = v.trim();
      heading.textContent = t('flows_action') + ' ' + a.key;
      changed();
    }, 'change');
    keyInput.maxLength = 64;
    keyInput.spellcheck = false;
    editor.appendChild(labelled(t('flows_key_field'), keyInput));

    var from = section(t('flows_from'));
    from.id = 'act-from';
    var fromKeys = def.states.map(function (s) { return s.key; });
    a.from.forEach(function (f) { if (fromKeys.indexOf(f) < 0) fromKeys.push(f); });
    fromKeys.forEach(function (k) {
      var s = def.states.find(function (x) { return x.key === k; });
      var text = k + (s ? (stateName(s) !== k ? ' · ' + stateName(s) : '') : ' (' + t('flows_undefined') + ')');
      var box = checkbox('act-from-' + k, text, a.from.indexOf(k) >= 0, function (on) {
        var others = a.from.filter(function (f) { return f !== k; });
        a.from = on ? others.concat([k]) : others;
        changed();
      });
      box.dataset.state = k;
      from.appendChild(box);
    });
    editor.appendChild(from);

    var to = textInput('act-to', a.to, function (v) { a.to = v.trim(); changed(); }, 'change');
    to.setAttribute('list', 'fd-state-keys');
    to.spellcheck = false;
    var datalist = el('datalist');
    datalist.id = 'fd-state-keys';
    def.states.forEach(function (s) {
      var option = el('option');
      option.value = s.key;
      option.label = stateName(s);
      datalist.appendChild(option);
    });
    var toLabel = labelled(t('flows_to'), to);
    toLabel.appendChild(datalist);
    editor.appendChild(toLabel);

    var roles = section(t('flows_roles_allowed'));
    roles.id = 'act-roles';
    var roleKeys = (def.roles || []).concat(PSEUDO_ROLES);
    a.roles.forEach(function (r) { if (roleKeys.indexOf(r) < 0) roleKeys.push(r); });
    roleKeys.forEach(function (r) {
      var declared = (def.roles || []).indexOf(r) >= 0 || PSEUDO_ROLES.indexOf(r) >= 0;
      var box = checkbox('act-role-' + r, r + (declared ? '' : ' (' + t('flows_undefined') + ')'), a.roles.indexOf(r) >= 0, function (on) {
        var others = a.roles.filter(function (x) { return x !== r; });
        a.roles = on ? others.concat([r]) : others;
        changed();
      });
      box.dataset.role = r;
      roles.appendChild(box);
    });
    editor.appendChild(roles);

    var required = textInput('act-required', (a.required || []).join(', '), function (v) {
      a.required = v.split(/[\s,，、]+/).filter(function (x) { return x; });
      changed();
    }, 'change');
    required.spellcheck = false;
    editor.appendChild(labelled(t('flows_required'), required));
    editor.appendChild(checkbox('act-reopen', t('flows_reopen'), a.reopen, function (on) { a.reopen = on; changed(); }));
    if (a.events && a.events.length) editor.appendChild(el('p', 'muted', t('flows_events') + ': ' + a.events.join(', ')));
    var del = el('button', 'secondary fd-danger', t('flows_delete_action'));
    del.type = 'button';
    del.id = 'act-delete';
    del.disabled = readOnly;
    del.addEventListener('click', function () {
      def.actions.splice(selection.index, 1);
      selection = null;
      changed({ editor: true });
    });
    editor.appendChild(del);
  }

  function renderProps() {
    propsBody.textContent = '';
    if (!def) return;
    propsBody.appendChild(labelled(t('flows_name_zh'), textInput('flow-name-zh', def.name_zh, function (v) { def.name_zh = v.trim() ? v : null; changed(); })));
    propsBody.appendChild(labelled(t('flows_name_en'), textInput('flow-name', def.name, function (v) { def.name = v; changed(); })));

    var roles = section(t('flows_roles'));
    var chips = el('ul', 'fd-chips');
    chips.id = 'flow-roles';
    (def.roles || []).forEach(function (r) {
      var chip = el('li', 'fd-chip');
      chip.dataset.role = r;
      chip.appendChild(el('span', null, r));
      var rm = el('button', 'link', '×');
      rm.type = 'button';
      rm.disabled = readOnly;
      rm.setAttribute('aria-label', fmt('flows_role_remove', { role: r }));
      rm.addEventListener('click', function () {
        def.roles = def.roles.filter(function (x) { return x !== r; });
        def.actions.forEach(function (a) { a.roles = a.roles.filter(function (x) { return x !== r; }); });
        changed({ editor: true, props: true });
      });
      chip.appendChild(rm);
      chips.appendChild(chip);
    });
    roles.appendChild(chips);
    var row = el('div', 'fd-span-row');
    var input = el('input');
    input.id = 'role-new';
    input.placeholder = t('flows_role_new');
    input.setAttribute('aria-label', t('flows_role_new'));
    input.disabled = readOnly;
    var add = el('button', 'secondary', t('flows_role_add'));
    add.type = 'button';
    add.id = 'role-add';
    add.disabled = readOnly;
    function addRole() {
      var r = input.value.trim();
      if (!r || def.roles.indexOf(r) >= 0) return;
      def.roles.push(r);
      changed({ editor: true, props: true });
      var next = $('role-new');
      if (next) next.focus();
    }
    add.addEventListener('click', addRole);
    input.addEventListener('keydown', function (e) { if (e.key === 'Enter') { e.preventDefault(); addRole(); } });
    row.appendChild(input);
    row.appendChild(add);
    roles.appendChild(row);
    roles.appendChild(el('p', 'muted', t('flows_pseudo_roles')));
    propsBody.appendChild(roles);

    var caseSla = section(t('flows_case_deadline'));
    caseSla.appendChild(spanEditor('flow-sla', t('flows_has_deadline'), def.sla && def.sla.due, function (span) {
      var had = !!def.sla;
      if (!span) def.sla = null;
      else if (def.sla) def.sla.due = span;
      else def.sla = { due: span, warn_before: null };
      changed({ props: had !== !!def.sla });
    }));
    caseSla.appendChild(spanEditor('flow-warn', t('flows_has_warn'), def.sla && def.sla.warn_before, function (span) {
      if (def.sla) def.sla.warn_before = span;
      changed();
    }, !def.sla));
    propsBody.appendChild(caseSla);

    var reopen = section(t('flows_reopen_window'));
    reopen.appendChild(spanEditor('flow-reopen', t('flows_has_reopen_window'), def.reopen_window, function (span) {
      def.reopen_window = span;
      changed();
    }));
    propsBody.appendChild(reopen);
  }

  function refreshJson(force) {
    if (!def || (!jsonView.open && !force) || document.activeElement === jsonText) return;
    jsonText.value = JSON.stringify(def, null, 2);
  }

  function applyJson() {
    var parsed;
    try {
      parsed = JSON.parse(jsonText.value);
    } catch (err) {
      oc.showError(jsonError, fmt('flows_json_invalid', { detail: err.message }));
      return;
    }
    if (!parsed || typeof parsed !== 'object' || !Array.isArray(parsed.states) || !Array.isArray(parsed.actions)) {
      // Not something the diagram can draw: let the engine say why.
      oc.showError(jsonError, fmt('flows_json_invalid', { detail: 'states, actions' }));
      return;
    }
    oc.showError(jsonError, '');
    parsed.roles = Array.isArray(parsed.roles) ? parsed.roles : [];
    parsed.actions.forEach(function (a) {
      a.from = Array.isArray(a.from) ? a.from : [];
      a.roles = Array.isArray(a.roles) ? a.roles : [];
    });
    def = parsed;
    selection = null;
    jsonText.blur();
    changed({ editor: true, props: true });
  }

  // ------------------------------------------------------------------ layout

  /**
   * A layered left-to-right layout. `nodes`: [{id, h, loop}], `edges`: [{id, from, to}]
   * (no self-loops), `startId`: the start state. Returns the layer and centre y of each
   * node, for each edge the chain of node and dummy ids it passes (in layer order) and
   * whether it was reversed (a back edge), and the size.
   */
  function layered(nodes, edges, startId) {
    var ids = nodes.map(function (n) { return n.id; });
    var byId = {};
    nodes.forEach(function (n) { byId[n.id] = n; });
    var out = {};
    ids.forEach(function (id) { out[id] = []; });
    edges.forEach(function (e) { out[e.from].push(e); });

    // 1. Depth-first from the start state (then any node not reached); an edge to a node
    //    on the DFS stack closes a cycle and is reversed for layering.
    var mark = {};
    var order = [];
    var back = {};
    function dfs(id) {
      mark[id] = 1;
      order.push(id);
      out[id].forEach(function (e) {
        if (mark[e.to] === 1) back[e.id] = true;
        else if (!mark[e.to]) dfs(e.to);
      });
      mark[id] = 2;
    }
    if (startId && byId[startId]) dfs(startId);
    ids.forEach(function (id) { if (!mark[id]) dfs(id); });
    var rank = {};
    order.forEach(function (id, i) { rank[id] = i; });

    // 2. Layers by longest path; a source other than the start sits just before its
    //    nearest successor.
    var dag = edges.map(function (e) {
      return back[e.id] ? { from: e.to, to: e.from, id: e.id } : { from: e.from, to: e.to, id: e.id };
    });
    var indeg = {};
    var succ = {};
    var pred = {};
    var layer = {};
    ids.forEach(function (id) { indeg[id] = 0; succ[id] = []; pred[id] = []; layer[id] = 0; });
    dag.forEach(function (d) { indeg[d.to]++; succ[d.from].push(d.to); pred[d.to].push(d.from); });
    var queue = ids.filter(function (id) { return indeg[id] === 0; }).sort(function (a, b) { return rank[a] - rank[b]; });
    var topo = [];
    while (queue.length) {
      var id = queue.shift();
      topo.push(id);
      succ[id].forEach(function (s) {
        layer[s] = Math.max(layer[s], layer[id] + 1);
        if (--indeg[s] === 0) queue.push(s);
      });
    }
    topo.slice().reverse().forEach(function (id) {
      if (id !== startId && !pred[id].length && succ[id].length) {
        layer[id] = Math.max(0, Math.min.apply(null, succ[id].map(function (s) { return layer[s]; })) - 1);
      }
    });

    // 3. Dummy nodes where an edge spans several layers.
    var v = {};
    ids.forEach(function (id) { v[id] = { id: id, layer: layer[id], h: byId[id].h + (byId[id].loop ? LOOP_H : 0), dummy: false, rank: rank[id] }; });
    var chains = {};
    var up = {};
    var down = {};
    ids.forEach(function (id) { up[id] = []; down[id] = []; });
    dag.forEach(function (d) {
      var chain = [d.from];
      for (var l = layer[d.from] + 1; l < layer[d.to]; l++) {
        var did = 'dummy:' + d.id + ':' + l;
        v[did] = { id: did, layer: l, h: 0, dummy: true, rank: rank[d.from] + 0.5 };
        up[did] = [];
        down[did] = [];
        chain.push(did);
      }
      chain.push(d.to);
      chains[d.id] = chain;
      for (var i = 0; i + 1 < chain.length; i++) {
        down[chain[i]].push(chain[i + 1]);
        up[chain[i + 1]].push(chain[i]);
      }
    });
    var layerCount = 0;
    Object.keys(v).forEach(function (id) { layerCount = Math.max(layerCount, v[id].layer + 1); });
    var layers = [];
    for (var l = 0; l < layerCount; l++) layers.push([]);
    Object.keys(v).forEach(function (id) { layers[v[id].layer].push(id); });
    layers.forEach(function (arr) { arr.sort(function (a, b) { return v[a].rank - v[b].rank; }); });

    // 4. Order within layers: barycentre sweeps, keeping the order with fewest crossings.
    function positions(ls) {
      var p = {};
      ls.forEach(function (arr) { arr.forEach(function (id, i) { p[id] = i; }); });
      return p;
    }
    function crossings(ls) {
      var p = positions(ls);
      var count = 0;
      for (var l = 0; l + 1 < ls.length; l++) {
        var links = [];
        ls[l].forEach(function (a) { down[a].forEach(function (b) { links.push([p[a], p[b]]); }); });
        for (var i = 0; i < links.length; i++) {
          for (var j = i + 1; j < links.length; j++) {
            if ((links[i][0] - links[j][0]) * (links[i][1] - links[j][1]) < 0) count++;
          }
        }
      }
      return count;
    }
    function sweep(ls, l, neighbours) {
      var p = positions(ls);
      var bary = {};
      ls[l].forEach(function (id) {
        var ns = neighbours[id];
        bary[id] = ns.length ? ns.reduce(function (sum, n) { return sum + p[n]; }, 0) / ns.length : p[id];
      });
      ls[l].sort(function (a, b) { return bary[a] - bary[b]; });
    }
    var best = layers.map(function (arr) { return arr.slice(); });
    var bestCrossings = crossings(best);
    for (var it = 0; it < 12 && bestCrossings > 0; it++) {
      if (it % 2 === 0) for (var d1 = 1; d1 < layers.length; d1++) sweep(layers, d1, up);
      else for (var d2 = layers.length - 2; d2 >= 0; d2--) sweep(layers, d2, down);
      var c = crossings(layers);
      if (c < bestCrossings) {
        bestCrossings = c;
        best = layers.map(function (arr) { return arr.slice(); });
      }
    }
    layers = best;

    // 5. Vertical positions: each node as near the mean of its neighbours as the order and
    //    the gaps allow (an ordered least-squares fit: pool-adjacent-violators).
    var y = {};
    function gap(a, b) {
      return v[a].h / 2 + (v[a].dummy || v[b].dummy ? DUMMY_GAP : NODE_GAP) + v[b].h / 2;
    }
    layers.forEach(function (arr) {
      var at = 0;
      arr.forEach(function (id, i) {
        at += i ? gap(arr[i - 1], id) : v[id].h / 2;
        y[id] = at;
      });
    });
    function place(arr) {
      var offset = [];
      arr.forEach(function (id, i) { offset.push(i ? offset[i - 1] + gap(arr[i - 1], id) : 0); });
      var blocks = [];
      arr.forEach(function (id, i) {
        var ns = up[id].concat(down[id]);
        var want = ns.length ? ns.reduce(function (sum, n) { return sum + y[n]; }, 0) / ns.length : y[id];
        var w = v[id].dummy ? 2 : 1;
        blocks.push({ sum: (want - offset[i]) * w, weight: w, count: 1 });
        while (blocks.length > 1) {
          var last = blocks[blocks.length - 1];
          var prev = blocks[blocks.length - 2];
          if (prev.sum / prev.weight <= last.sum / last.weight) break;
          blocks.pop();
          prev.sum += last.sum;
          prev.weight += last.weight;
          prev.count += last.count;
        }
      });
      var i = 0;
      blocks.forEach(function (b) {
        for (var k = 0; k < b.count; k++, i++) y[arr[i]] = b.sum / b.weight + offset[i];
      });
    }
    for (var round = 0; round < 10; round++) {
      if (round % 2 === 0) layers.forEach(place);
      else layers.slice().reverse().forEach(place);
    }
    var top = Infinity;
    var bottom = -Infinity;
    Object.keys(v).forEach(function (id) {
      top = Math.min(top, y[id] - v[id].h / 2);
      bottom = Math.max(bottom, y[id] + v[id].h / 2);
    });
    if (!isFinite(top)) { top = 0; bottom = 0; }
    Object.keys(v).forEach(function (id) { y[id] += MARGIN - top; });
    return {
      v: v,
      y: y,
      chains: chains,
      back: back,
      layerX: function (l) { return MARGIN + l * (NODE_W + LAYER_GAP); },
      width: MARGIN * 2 + layerCount * NODE_W + Math.max(0, layerCount - 1) * LAYER_GAP,
      height: bottom - top + MARGIN * 2,
    };
  }

  // ------------------------------------------------------------------ drawing

  function nodeBox(s, ghostKey, badProblem) {
    var node = el('button', 'fd-node');
    node.type = 'button';
    if (ghostKey !== undefined) {
      node.classList.add('fd-ghost');
      node.dataset.state = ghostKey;
      node.appendChild(el('span', 'fd-node-name', ghostKey === '' ? t('flows_empty') : ghostKey));
      node.appendChild(el('span', 'fd-node-key', t('flows_undefined')));
      node.tabIndex = -1;
      return node;
    }
    node.dataset.state = s.key;
    if (s.start) node.classList.add('fd-start');
    if (s.terminal) node.classList.add('fd-terminal');
    if (badProblem) node.classList.add('fd-has-problem');
    var badges = el('span', 'fd-badges');
    if (s.start) badges.appendChild(el('span', 'fd-badge fd-badge-start', t('flows_start')));
    if (s.terminal) badges.appendChild(el('span', 'fd-badge fd-badge-end', t('flows_terminal')));
    if (badges.childNodes.length) node.appendChild(badges);
    node.appendChild(el('span', 'fd-node-name', stateName(s)));
    node.appendChild(el('span', 'fd-node-key', s.key));
    if (s.sla && s.sla.due) {
      var sla = el('span', 'fd-node-sla', spanText(s.sla.due));
      sla.dataset.sla = JSON.stringify(s.sla.due);
      node.appendChild(sla);
      if (s.sla.warn_before) node.appendChild(el('span', 'fd-node-warn', fmt('flows_warn_text', { span: spanText(s.sla.warn_before) })));
    }
    var extra = [];
    if (s.clock === 'on_claim') extra.push(t('flows_claim_badge'));
    if (s.escalations && s.escalations.length) extra.push(fmt('flows_esc_badge', { n: s.escalations.length }));
    if (extra.length) node.appendChild(el('span', 'fd-node-extra', extra.join(' · ')));
    var title = [s.key, s.name_zh, s.name].filter(function (x) { return x; });
    node.title = title.filter(function (x, i) { return title.indexOf(x) === i; }).join(' · ');
    return node;
  }

  function renderDiagram() {
    diagram.textContent = '';
    if (!def) return;
    var states = Array.isArray(def.states) ? def.states : [];
    var actions = Array.isArray(def.actions) ? def.actions : [];
    var badStates = problemStates();
    var badActions = problemActions();
    var sizer = el('div', 'fd-sizer');
    var canvas = el('div', 'fd-canvas');
    var edgesSvg = svg('svg', { class: 'fd-edges', 'aria-hidden': 'true' });
    var defs = svg('defs');
    [['fd-arrow', 'fd-arrowhead'], ['fd-arrow-bad', 'fd-arrowhead fd-bad'], ['fd-arrow-sel', 'fd-arrowhead fd-sel']].forEach(function (m) {
      var marker = svg('marker', { id: m[0], viewBox: '0 0 10 10', refX: '9', refY: '5', markerWidth: '11', markerHeight: '11', markerUnits: 'userSpaceOnUse', orient: 'auto' });
      marker.appendChild(svg('path', { d: 'M0,0 L10,5 L0,10 z', class: m[1] }));
      defs.appendChild(marker);
    });
    edgesSvg.appendChild(defs);
    canvas.appendChild(edgesSvg);
    sizer.appendChild(canvas);
    diagram.appendChild(sizer);

    // Nodes: every state, and a ghost for each state an action names but none defines.
    var nodes = [];
    var idOf = {};
    states.forEach(function (s, i) {
      var id = 's' + i;
      if (!has(idOf, s.key)) idOf[s.key] = id;
      var box = nodeBox(s, undefined, !!badStates[s.key]);
      if (selection && selection.kind === 'state' && selection.index === i) box.classList.add('fd-selected');
      box.addEventListener('click', function () { select('state', i, true); });
      nodes.push({ id: id, key: s.key, elem: box, loop: false, start: s.start });
    });
    actions.forEach(function (a) {
      (a.from || []).concat([a.to]).forEach(function (k) {
        if (typeof k !== 'string' || k === '' || has(idOf, k)) return;
        var id = 'g' + nodes.length;
        idOf[k] = id;
        var box = nodeBox(null, k);
        box.classList.add('fd-has-problem');
        nodes.push({ id: id, key: k, elem: box, loop: false });
      });
    });
    var edges = [];
    var loops = [];
    actions.forEach(function (a, i) {
      if (typeof a.to !== 'string' || a.to === '') return;
      (a.from || []).forEach(function (f, j) {
        var e = { id: 'e' + i + '_' + j, action: i, key: a.key, from: idOf[f], to: idOf[a.to] };
        if (!e.from || !e.to) return;
        if (e.from === e.to) loops.push(e);
        else edges.push(e);
      });
    });
    var byId = {};
    nodes.forEach(function (n) { byId[n.id] = n; canvas.appendChild(n.elem); n.elem.style.width = NODE_W + 'px'; });
    loops.forEach(function (e) { byId[e.from].loop = true; });
    nodes.forEach(function (n) { n.h = n.elem.offsetHeight; });
    var start = states.find(function (s) { return s.start; });
    var lay = layered(nodes, edges, start ? idOf[start.key] : null);

    var box = {};
    nodes.forEach(function (n) {
      var vn = lay.v[n.id];
      var x = lay.layerX(vn.layer);
      var topY = lay.y[n.id] - vn.h / 2 + (n.loop ? LOOP_H : 0);
      n.elem.style.left = x + 'px';
      n.elem.style.top = topY + 'px';
      box[n.id] = { x: x, y: topY, w: NODE_W, h: n.h };
    });

    // Ports: the edges on each side of a box, spread along it in the order of where they go.
    var ends = {};
    edges.forEach(function (e) {
      var chain = lay.chains[e.id];
      var first = chain[0];
      var last = chain[chain.length - 1];
      (ends[first + ':R'] = ends[first + ':R'] || []).push({ e: e, other: lay.y[chain[1]] });
      (ends[last + ':L'] = ends[last + ':L'] || []).push({ e: e, other: lay.y[chain[chain.length - 2]] });
    });
    var port = {};
    Object.keys(ends).forEach(function (k) {
      var id = k.slice(0, k.lastIndexOf(':'));
      var list = ends[k].sort(function (a, b) { return a.other - b.other; });
      var b = box[id];
      list.forEach(function (item, i) {
        var span = Math.min(b.h - 12, 16 * (list.length - 1));
        var y = b.y + b.h / 2 - span / 2 + (list.length > 1 ? (span * i) / (list.length - 1) : 0);
        port[item.e.id + '|' + k.slice(k.lastIndexOf(':') + 1)] = y;
      });
    });

    var labels = [];
    function addEdge(e, d, labelX, labelY) {
      var a = actions[e.action];
      var bad = !!badActions[a.key];
      var selected = selection && selection.kind === 'action' && selection.index === e.action;
      var cls = 'fd-edge' + (bad ? ' fd-bad' : '') + (selected ? ' fd-sel' : '');
      var path = svg('path', { d: d, class: cls, 'marker-end': 'url(#' + (selected ? 'fd-arrow-sel' : bad ? 'fd-arrow-bad' : 'fd-arrow') + ')' });
      path.dataset.action = a.key;
      edgesSvg.appendChild(path);
      var hit = svg('path', { d: d, class: 'fd-edge-hit' });
      hit.addEventListener('click', function () { select('action', e.action, true); });
      edgesSvg.appendChild(hit);
      var label = el('button', 'fd-edge-label' + (bad ? ' fd-bad' : '') + (selected ? ' fd-sel' : ''), a.key);
      label.type = 'button';
      label.dataset.action = a.key;
      label.dataset.actionIndex = String(e.action);
      label.dataset.from = e.fromKey;
      label.title = a.key + ' — ' + (a.roles || []).join(', ') + ((a.required || []).length ? ' · ' + a.required.join(', ') : '');
      label.addEventListener('click', function () { select('action', e.action, true); });
      canvas.appendChild(label);
      labels.push({ elem: label, x: labelX, y: labelY });
    }

    edges.forEach(function (e) {
      e.fromKey = byId[e.from].key;
      var chain = lay.chains[e.id];
      var pts = [];
      var b0 = box[chain[0]];
      pts.push([b0.x + b0.w, port[e.id + '|R']]);
      for (var i = 1; i + 1 < chain.length; i++) {
        var vx = lay.layerX(lay.v[chain[i]].layer);
        pts.push([vx, lay.y[chain[i]]]);
        pts.push([vx + NODE_W, lay.y[chain[i]]]);
      }
      var bn = box[chain[chain.length - 1]];
      pts.push([bn.x, port[e.id + '|L']]);
      if (lay.back[e.id]) pts.reverse();
      var d = 'M' + pts[0][0] + ',' + pts[0][1];
      for (var k = 1; k < pts.length; k++) {
        var p0 = pts[k - 1];
        var p1 = pts[k];
        if (Math.abs(p1[0] - p0[0]) >= NODE_W - 1 && p0[1] === p1[1] && k % 2 === 0) {
          d += ' L' + p1[0] + ',' + p1[1];
        } else {
          var mx = (p0[0] + p1[0]) / 2;
          d += ' C' + mx + ',' + p0[1] + ' ' + mx + ',' + p1[1] + ' ' + p1[0] + ',' + p1[1];
        }
      }
      addEdge(e, d, (pts[0][0] + pts[1][0]) / 2, (pts[0][1] + pts[1][1]) / 2);
    });
    var loopCount = {};
    loops.forEach(function (e) {
      e.fromKey = byId[e.from].key;
      var b = box[e.from];
      var n = loopCount[e.from] = (loopCount[e.from] || 0) + 1;
      var x1 = b.x + b.w * 0.68;
      var x0 = b.x + b.w * 0.32;
      var d = 'M' + x1 + ',' + b.y + ' C' + (x1 + 10) + ',' + (b.y - LOOP_H) + ' ' + (x0 - 10) + ',' + (b.y - LOOP_H) + ' ' + x0 + ',' + b.y;
      addEdge(e, d, b.x + b.w / 2 + (n - 1) * 12, b.y - LOOP_H * 0.78);
    });

    var width = lay.width;
    var height = lay.height;
    // Labels: centred on their edge in the gap between layers, pushed apart where they meet.
    labels.forEach(function (l) {
      l.w = l.elem.offsetWidth;
      l.h = l.elem.offsetHeight;
      l.top = l.y - l.h / 2;
    });
    var columns = {};
    labels.forEach(function (l) { (columns[Math.round(l.x / 10)] = columns[Math.round(l.x / 10)] || []).push(l); });
    Object.keys(columns).forEach(function (k) {
      var col = columns[k].sort(function (a, b) { return a.top - b.top; });
      for (var i = 1; i < col.length; i++) {
        var prev = col[i - 1];
        var overlapX = Math.abs(col[i].x - prev.x) < (col[i].w + prev.w) / 2;
        if (overlapX && col[i].top < prev.top + prev.h + 2) col[i].top = prev.top + prev.h + 2;
      }
    });
    labels.forEach(function (l) {
      l.elem.style.left = (l.x - l.w / 2) + 'px';
      l.elem.style.top = l.top + 'px';
      height = Math.max(height, l.top + l.h + MARGIN / 2);
    });
    if (start && box[idOf[start.key]]) {
      var sb = box[idOf[start.key]];
      var cy = sb.y + sb.h / 2;
      edgesSvg.appendChild(svg('circle', { cx: sb.x - 16, cy: cy, r: 6, class: 'fd-start-dot' }));
      edgesSvg.appendChild(svg('path', { d: 'M' + (sb.x - 10) + ',' + cy + ' L' + sb.x + ',' + cy, class: 'fd-edge', 'marker-end': 'url(#fd-arrow)' }));
    }
    canvas.style.width = width + 'px';
    canvas.style.height = height + 'px';
    edgesSvg.setAttribute('width', String(width));
    edgesSvg.setAttribute('height', String(height));
    canvas.dataset.width = String(width);
    canvas.dataset.height = String(height);
    applyZoom();
  }

  function applyZoom() {
    var canvas = diagram.querySelector('.fd-canvas');
    var sizer = diagram.querySelector('.fd-sizer');
    if (!canvas || !sizer) return;
    var width = parseFloat(canvas.dataset.width);
    var height = parseFloat(canvas.dataset.height);
    var available = diagram.clientWidth - 2;
    var scale = fit && width > available ? Math.max(0.6, available / width) : 1;
    canvas.style.transform = scale === 1 ? '' : 'scale(' + scale + ')';
    sizer.style.width = width * scale + 'px';
    sizer.style.height = height * scale + 'px';
    diagram.dataset.scale = scale.toFixed(2);
    zoomBtn.textContent = fit ? t('flows_actual') : t('flows_fit');
  }

  function renderHead() {
    $('designer-title').textContent = flowName(def);
    $('designer-key').textContent = def.key + ' · ' + def.module;
    versionSelect.textContent = '';
    var versions = versionsOf(flowKey);
    versions.forEach(function (n, i) {
      var option = el('option', null, fmt('flows_version_n', { n: n }) + (i === 0 ? ' ' + t('flows_latest') : ''));
      option.value = String(n);
      versionSelect.appendChild(option);
    });
    versionSelect.value = String(version || versions[0] || '');
  }

  // ------------------------------------------------------------------ wiring

  saveBtn.addEventListener('click', save);
  discardBtn.addEventListener('click', function () {
    if (!isDirty() || !window.confirm(t('flows_discard_confirm'))) return;
    load(JSON.parse(savedText));
  });
  $('add-state').addEventListener('click', function () { if (def && !readOnly) addState(); });
  $('add-action').addEventListener('click', function () { if (def && !readOnly) addAction(); });
  zoomBtn.addEventListener('click', function () { fit = !fit; applyZoom(); });
  versionSelect.addEventListener('change', function () {
    var n = parseInt(versionSelect.value, 10);
    if (n === version) return;
    if (!confirmLeave()) { versionSelect.value = String(version); return; }
    openFlow(flowKey, n);
  });
  jsonView.addEventListener('toggle', function () { refreshJson(true); });
  $('json-apply').addEventListener('click', applyJson);
  var resizeTimer = null;
  window.addEventListener('resize', function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(applyZoom, 150);
  });

  window.onecityFlows = {
    definition: function () { return def ? JSON.parse(JSON.stringify(def)) : null; },
    problems: function () { return problems.slice(); },
    saved: function () { return savedText ? JSON.parse(savedText) : null; },
  };

  oc.initTenants(async function (code) {
    tenant = code;
    body.dataset.flowsReady = '0';
    body.dataset.designerReady = '0';
    def = null;
    flowKey = null;
    designer.hidden = true;
    try {
      await loadList();
      body.dataset.tenant = code;
      oc.showError(pageError, '');
      body.dataset.flowsReady = '1';
      var wanted = new URLSearchParams(location.search);
      var key = wanted.get('flow');
      if (key && versionsOf(key).length) {
        var ver = parseInt(wanted.get('version') || '', 10);
        await openFlow(key, ver > 0 ? ver : null);
      }
    } catch (e) {
      oc.showError(pageError, e);
    }
  }).catch(function (e) { oc.showError(pageError, e); });
})();
