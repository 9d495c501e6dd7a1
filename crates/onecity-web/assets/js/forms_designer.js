/* onecity console: the form designer (表单设计器), /console/services/forms. Staff pick a
 * form of the tenant (GET /api/v1/tenants/{t}/services/forms) or start a new one, add,
 * reorder, edit and delete questions of every type and their branching ("show this
 * question when <question> is <value>") without typing JSON, see the form as a citizen
 * does (the preview, in Chinese or English), and save a new version (POST
 * …/services/forms/{key}/versions). The questions ↔ schema mapping is forms_core.js's
 * (the mirror of the server's); the server checks the schema again and lists every
 * problem. For tests: window.formDesigner, body[data-designer-ready|data-tenant|
 * data-form-key|data-saved-version|data-question-count]. */
(function () {
  'use strict';
  var oc = window.onecity;
  var F = window.onecityForms;
  var t = oc.t;
  var el = oc.el;
  var body = document.body;
  body.dataset.designerReady = '0';
  if (!oc.requireToken()) return;

  function $(id) { return document.getElementById(id); }
  var pageError = $('page-error');
  var formList = $('form-list');
  var keyIn = $('form-key');
  var itemIn = $('form-item-code');
  var titleZh = $('form-title-zh');
  var titleEn = $('form-title-en');
  var descZh = $('form-desc-zh');
  var descEn = $('form-desc-en');
  var listEl = $('question-list');
  var addType = $('add-type');
  var addWhere = $('add-where');
  var editor = $('question-editor');
  var editorFields = $('editor-fields');
  var previewEl = $('preview');
  var previewProblems = $('preview-problems');
  var designProblems = $('design-problems');
  var saveStatus = $('save-status');
  var saveError = $('save-error');

  var tenant = null;
  var forms = [];
  var questions = [];
  var loadedVersion = 0;   // the version being edited (0: a new form)
  var isNew = true;
  var selected = null;     // [i] or [i, j]
  var previewLang = oc.lang;
  var preview = null;

  F.TYPES.forEach(function (type) {
    var o = el('option', null, t('fd_type_' + type));
    o.value = type;
    addType.appendChild(o);
  });

  function base() { return '/api/v1/tenants/' + encodeURIComponent(tenant) + '/services/forms'; }

  // ------------------------------------------------------------------ model helpers

  function levelOf(path) { return path.length === 1 ? questions : questions[path[0]].questions; }
  function questionAt(path) {
    if (!path) return null;
    var level = levelOf(path);
    return level ? level[path[path.length - 1]] || null : null;
  }

  function freshId(level, base) {
    var ids = {};
    level.forEach(function (q) { ids[q.id] = true; });
    for (var n = level.length + 1; ; n++) {
      var id = base + '_' + n;
      if (!ids[id]) return id;
    }
  }

  function defaults(type, level) {
    var q = F.newQuestion(freshId(level, 'question'), type, t('fd_new_label_zh'), t('fd_new_label_en'));
    if (type === 'text') q.max_length = 100;
    if (type === 'choice') {
      q.widget = 'radio';
      q.options = [
        { value: 'yes', label: { zh: '是', en: 'Yes' } },
        { value: 'no', label: { zh: '否', en: 'No' } },
      ];
    }
    if (type === 'file') {
      q.accept = ['image/jpeg', 'image/png', 'application/pdf'];
      q.max_size = 5 * 1024 * 1024;
      q.min_count = 1;
      q.max_count = 3;
    }
    if (type === 'group') {
      var inner = F.newQuestion('name', 'text', '姓名', 'Name');
      inner.max_length = 30;
      q.questions = [inner];
      q.max_items = 5;
    }
    return q;
  }

  function setOrDelete(obj, key, value) {
    if (value === undefined || value === null || value === '' || value === false || (Array.isArray(value) && !value.length)) delete obj[key];
    else obj[key] = value;
  }

  function bilingualFrom(zhIn, enIn) {
    var zh = zhIn.value, en = enIn.value;
    if (!zh.trim() && !en.trim()) return undefined;
    return { zh: zh, en: en };
  }

  // ------------------------------------------------------------------ list

  function conditionText(q, level) {
    if (!q.show_when) return '';
    var on = level.filter(function (o) { return o.id === q.show_when.question; })[0];
    var onLabel = on ? on.label[oc.lang] : q.show_when.question;
    var vl = on ? F.optionLabel(on, q.show_when.equals) : null;
    return t('fd_shown_when').replace('{q}', onLabel).replace('{v}', vl ? vl[oc.lang] : q.show_when.equals);
  }

  function drawList() {
    listEl.textContent = '';
    questions.forEach(function (q, i) { listEl.appendChild(row(q, [i], questions)); });
    body.dataset.questionCount = String(questions.length);
    addWhere.textContent = '';
    var top = el('option', null, t('fd_where_form'));
    top.value = '';
    addWhere.appendChild(top);
    questions.forEach(function (q, i) {
      if (q.type !== 'group') return;
      var o = el('option', null, t('fd_where_group').replace('{g}', q.label[oc.lang] || q.id));
      o.value = String(i);
      addWhere.appendChild(o);
    });
    if (selected && selected.length === 2) addWhere.value = String(selected[0]);
    else if (selected && questionAt(selected) && questionAt(selected).type === 'group') addWhere.value = String(selected[0]);
  }

  function row(q, path, level) {
    var li = el('li', 'q-row');
    li.dataset.path = path.join('.');
    li.dataset.question = q.id;
    if (selected && selected.join('.') === path.join('.')) li.classList.add('selected');
    var head = el('div', 'q-head');
    var pick = el('button', 'link q-select', q.label[oc.lang] || q.id);
    pick.type = 'button';
    pick.addEventListener('click', function () { select(path); });
    head.appendChild(pick);
    head.appendChild(el('span', 'badge', t('fd_type_' + q.type) + (q.type === 'choice' ? ' · ' + t('fd_widget_' + q.widget) : '')));
    if (q.required) head.appendChild(el('span', 'badge badge-soon', t('fd_required')));
    var tools = el('span', 'q-tools');
    [['q-up', '↑', t('fd_move_up'), -1], ['q-down', '↓', t('fd_move_down'), 1]].forEach(function (b) {
      var btn = el('button', 'secondary small ' + b[0], b[1]);
      btn.type = 'button';
      btn.title = b[2];
      btn.setAttribute('aria-label', b[2] + ': ' + (q.label[oc.lang] || q.id));
      var idx = path[path.length - 1];
      btn.disabled = idx + b[3] < 0 || idx + b[3] >= level.length;
      btn.addEventListener('click', function () { move(path, b[3]); });
      tools.appendChild(btn);
    });
    var del = el('button', 'secondary small q-delete', '✕');
    del.type = 'button';
    del.title = t('fd_delete');
    del.setAttribute('aria-label', t('fd_delete') + ': ' + (q.label[oc.lang] || q.id));
    del.addEventListener('click', function () { remove(path); });
    tools.appendChild(del);
    head.appendChild(tools);
    li.appendChild(head);
    var cond = conditionText(q, level);
    if (cond) li.appendChild(el('div', 'q-cond muted', cond));
    if (q.type === 'group') {
      var ol = el('ol', 'question-list q-children');
      (q.questions || []).forEach(function (c, j) { ol.appendChild(row(c, [path[0], j], q.questions)); });
      li.appendChild(ol);
    }
    return li;
  }

  function move(path, delta) {
    var level = levelOf(path);
    var i = path[path.length - 1];
    var j = i + delta;
    if (j < 0 || j >= level.length) return;
    var q = level.splice(i, 1)[0];
    level.splice(j, 0, q);
    var next = path.slice();
    next[next.length - 1] = j;
    if (selected && selected.join('.') === path.join('.')) selected = next;
    else selected = null;
    changed(true);
  }

  function remove(path) {
    var level = levelOf(path);
    var q = level.splice(path[path.length - 1], 1)[0];
    // A condition on the removed question goes with it.
    level.forEach(function (o) { if (o.show_when && o.show_when.question === q.id) delete o.show_when; });
    selected = null;
    changed(true);
  }

  function select(path) {
    selected = path;
    drawList();
    drawEditor();
  }

  // ------------------------------------------------------------------ editor

  function field(labelText, input, cls) {
    var l = el('label', 'field' + (cls ? ' ' + cls : ''));
    l.appendChild(document.createTextNode(labelText + ' '));
    l.appendChild(input);
    return l;
  }
  function textInput(id, value, onInput, attrs) {
    var i = el('input');
    i.type = 'text';
    i.id = id;
    i.value = value == null ? '' : String(value);
    Object.keys(attrs || {}).forEach(function (k) { i.setAttribute(k, attrs[k]); });
    i.addEventListener('input', function () { onInput(i.value, i); });
    return i;
  }
  function numberInput(id, value, onInput) {
    var i = textInput(id, value, function (v) {
      var s = v.trim();
      if (!s) { onInput(undefined); return; }
      var n = Number(s);
      onInput(isFinite(n) ? n : undefined);
    }, { inputmode: 'decimal' });
    return i;
  }
  function checkbox(id, checked, onChange) {
    var i = el('input');
    i.type = 'checkbox';
    i.id = id;
    i.checked = !!checked;
    i.addEventListener('change', function () { onChange(i.checked); });
    return i;
  }
  function checkField(labelText, input) {
    var l = el('label', 'check-field');
    l.appendChild(input);
    l.appendChild(document.createTextNode(' ' + labelText));
    return l;
  }

  function drawEditor() {
    var q = questionAt(selected);
    editorFields.textContent = '';
    editor.hidden = !q;
    if (!q) return;
    var level = levelOf(selected);
    var idx = selected[selected.length - 1];
    var box = editorFields;
    box.appendChild(el('p', 'muted', t('fd_type_' + q.type)));
    box.appendChild(field(t('fd_q_id'), textInput('q-id', q.id, function (v) {
      var old = q.id;
      q.id = v.trim();
      level.forEach(function (o) { if (o.show_when && o.show_when.question === old) o.show_when.question = q.id; });
      changed(false);
    }, { maxlength: '40', autocapitalize: 'none', spellcheck: 'false' })));
    box.appendChild(field(t('fd_label_zh'), textInput('q-label-zh', q.label.zh, function (v) { q.label.zh = v; changed(false); })));
    box.appendChild(field(t('fd_label_en'), textInput('q-label-en', q.label.en, function (v) { q.label.en = v; changed(false); })));
    var helpZh = textInput('q-help-zh', q.help ? q.help.zh : '', function () { setOrDelete(q, 'help', bilingualFrom(helpZh, helpEn)); changed(false); });
    var helpEn = textInput('q-help-en', q.help ? q.help.en : '', function () { setOrDelete(q, 'help', bilingualFrom(helpZh, helpEn)); changed(false); });
    box.appendChild(field(t('fd_help_zh'), helpZh));
    box.appendChild(field(t('fd_help_en'), helpEn));
    box.appendChild(checkField(t('fd_required'), checkbox('q-required', q.required, function (c) { setOrDelete(q, 'required', c); changed(false); })));

    // Branching: "show this question when <question> is <value>".
    var cond = el('fieldset', 'cond-editor');
    cond.appendChild(el('legend', null, t('fd_condition')));
    var condQ = el('select');
    condQ.id = 'q-cond-question';
    var always = el('option', null, t('fd_always'));
    always.value = '';
    condQ.appendChild(always);
    level.slice(0, idx).filter(function (o) { return o.type === 'choice'; }).forEach(function (o) {
      var op = el('option', null, o.label[oc.lang] || o.id);
      op.value = o.id;
      condQ.appendChild(op);
    });
    var condV = el('select');
    condV.id = 'q-cond-value';
    function fillValues() {
      condV.textContent = '';
      var on = level.filter(function (o) { return o.id === condQ.value; })[0];
      (on ? on.options : []).forEach(function (o) {
        var op = el('option', null, o.label[oc.lang] || o.value);
        op.value = o.value;
        condV.appendChild(op);
      });
      condV.disabled = !on;
    }
    condQ.value = q.show_when ? q.show_when.question : '';
    if (condQ.value !== (q.show_when ? q.show_when.question : '')) {
      // The condition names a question that is not an earlier choice: keep it visible.
      var stale = el('option', null, q.show_when.question);
      stale.value = q.show_when.question;
      condQ.appendChild(stale);
      condQ.value = q.show_when.question;
    }
    fillValues();
    if (q.show_when) condV.value = q.show_when.equals;
    function setCondition() {
      if (!condQ.value) delete q.show_when;
      else q.show_when = { question: condQ.value, equals: condV.value };
      changed(false);
    }
    condQ.addEventListener('change', function () { fillValues(); setCondition(); });
    condV.addEventListener('change', setCondition);
    var condRow = el('div', 'cond-row');
    condRow.appendChild(field(t('fd_when_question'), condQ));
    condRow.appendChild(field(t('fd_when_value'), condV));
    cond.appendChild(condRow);
    box.appendChild(cond);

    if (q.type === 'text') {
      box.appendChild(checkField(t('fd_multiline'), checkbox('q-multiline', q.multiline, function (c) { setOrDelete(q, 'multiline', c); changed(false); })));
      box.appendChild(field(t('fd_max_length'), numberInput('q-max-length', q.max_length, function (n) { setOrDelete(q, 'max_length', n); changed(false); })));
      box.appendChild(field(t('fd_pattern'), textInput('q-pattern', q.pattern, function (v) { setOrDelete(q, 'pattern', v); changed(false); }, { spellcheck: 'false' })));
    } else if (q.type === 'number') {
      box.appendChild(checkField(t('fd_integer'), checkbox('q-integer', q.integer, function (c) { setOrDelete(q, 'integer', c); changed(false); })));
      box.appendChild(field(t('fd_minimum'), numberInput('q-minimum', q.minimum, function (n) { setOrDelete(q, 'minimum', n); changed(false); })));
      box.appendChild(field(t('fd_maximum'), numberInput('q-maximum', q.maximum, function (n) { setOrDelete(q, 'maximum', n); changed(false); })));
      var unitZh = textInput('q-unit-zh', q.unit ? q.unit.zh : '', function () { setOrDelete(q, 'unit', bilingualFrom(unitZh, unitEn)); changed(false); });
      var unitEn = textInput('q-unit-en', q.unit ? q.unit.en : '', function () { setOrDelete(q, 'unit', bilingualFrom(unitZh, unitEn)); changed(false); });
      box.appendChild(field(t('fd_unit_zh'), unitZh));
      box.appendChild(field(t('fd_unit_en'), unitEn));
    } else if (q.type === 'choice') {
      var widget = el('select');
      widget.id = 'q-widget';
      ['radio', 'select', 'checkboxes'].forEach(function (w) {
        var op = el('option', null, t('fd_widget_' + w));
        op.value = w;
        widget.appendChild(op);
      });
      widget.value = q.widget || 'radio';
      widget.addEventListener('change', function () { q.widget = widget.value; changed(true); });
      box.appendChild(field(t('fd_widget'), widget));
      box.appendChild(optionsEditor(q));
    } else if (q.type === 'file') {
      var types = el('fieldset', 'accept-editor');
      types.appendChild(el('legend', null, t('fd_accept')));
      F.KNOWN_TYPES.forEach(function (mt, j) {
        types.appendChild(checkField(F.TYPE_NAMES[mt], checkbox('q-accept-' + j, (q.accept || []).indexOf(mt) >= 0, function (c) {
          var list = (q.accept || []).filter(function (x) { return x !== mt; });
          if (c) list = F.KNOWN_TYPES.filter(function (x) { return x === mt || list.indexOf(x) >= 0; });
          setOrDelete(q, 'accept', list);
          changed(false);
        })));
      });
      box.appendChild(types);
      box.appendChild(field(t('fd_max_size_mib'), numberInput('q-max-size', q.max_size == null ? '' : q.max_size / 1048576, function (n) {
        setOrDelete(q, 'max_size', n === undefined ? undefined : Math.round(n * 1048576));
        changed(false);
      })));
      box.appendChild(field(t('fd_min_count'), numberInput('q-min-count', q.min_count, function (n) { setOrDelete(q, 'min_count', n === 0 ? 0 : n); if (n === 0) q.min_count = 0; changed(false); })));
      box.appendChild(field(t('fd_max_count'), numberInput('q-max-count', q.max_count, function (n) { setOrDelete(q, 'max_count', n); changed(false); })));
    } else if (q.type === 'group') {
      box.appendChild(field(t('fd_min_items'), numberInput('q-min-items', q.min_items, function (n) { setOrDelete(q, 'min_items', n); if (n === 0) q.min_items = 0; changed(false); })));
      box.appendChild(field(t('fd_max_items'), numberInput('q-max-items', q.max_items, function (n) { setOrDelete(q, 'max_items', n); changed(false); })));
      box.appendChild(el('p', 'muted', t('fd_group_hint')));
    }
  }

  function optionsEditor(q) {
    var fs = el('fieldset', 'options-editor');
    fs.appendChild(el('legend', null, t('fd_options')));
    var ol = el('ol', 'option-rows');
    function draw() {
      ol.textContent = '';
      q.options.forEach(function (o, j) {
        var li = el('li', 'option-row');
        var value = textInput('opt-value-' + j, o.value, function (v) {
          var old = o.value;
          o.value = v.trim();
          // Conditions on this option follow its new value.
          levelOf(selected).forEach(function (x) { if (x.show_when && x.show_when.question === q.id && x.show_when.equals === old) x.show_when.equals = o.value; });
          changed(false);
        }, { 'aria-label': t('fd_option_value'), class: 'opt-value', spellcheck: 'false', autocapitalize: 'none' });
        var zh = textInput('opt-zh-' + j, o.label.zh, function (v) { o.label.zh = v; changed(false); }, { 'aria-label': t('fd_option_zh'), class: 'opt-zh' });
        var en = textInput('opt-en-' + j, o.label.en, function (v) { o.label.en = v; changed(false); }, { 'aria-label': t('fd_option_en'), class: 'opt-en' });
        var rm = el('button', 'secondary small opt-remove', '✕');
        rm.type = 'button';
        rm.setAttribute('aria-label', t('fd_option_remove'));
        rm.addEventListener('click', function () { q.options.splice(j, 1); draw(); changed(false); });
        [value, zh, en, rm].forEach(function (x) { li.appendChild(x); });
        ol.appendChild(li);
      });
    }
    draw();
    var add = el('button', 'secondary small', t('fd_option_add'));
    add.type = 'button';
    add.id = 'q-option-add';
    add.addEventListener('click', function () {
      var n = q.options.length + 1;
      var used = {};
      q.options.forEach(function (o) { used[o.value] = true; });
      while (used['option_' + n]) n++;
      q.options.push({ value: 'option_' + n, label: { zh: '选项' + n, en: 'Option ' + n } });
      draw();
      changed(false);
    });
    fs.appendChild(ol);
    fs.appendChild(add);
    return fs;
  }

  // ------------------------------------------------------------------ preview and checks

  var previewTimer = null;
  function changed(redrawEditor) {
    saveStatus.hidden = true;
    drawList();
    if (redrawEditor) drawEditor();
    clearTimeout(previewTimer);
    body.dataset.previewReady = '0';
    previewTimer = setTimeout(drawPreview, 150);
  }

  function drawPreview() {
    previewProblems.textContent = '';
    var problems = F.checkQuestions(questions, oc.lang);
    showDesignProblems(problems);
    if (problems.length) {
      previewEl.textContent = '';
      previewEl.appendChild(el('p', 'muted', t('fd_preview_blocked')));
      body.dataset.previewReady = '0';
      return;
    }
    var h = el('h3', 'preview-title', previewLang === 'zh' ? titleZh.value : titleEn.value);
    var holder = el('div', 'preview-form');
    previewEl.textContent = '';
    previewEl.appendChild(h);
    previewEl.appendChild(holder);
    preview = F.render(holder, JSON.parse(JSON.stringify(questions)), {
      lang: previewLang,
      tenant: tenant,
      preview: true,
      boundaries: function () { return oc.api('/api/v1/tenants/' + encodeURIComponent(tenant) + '/boundaries.geojson', { accept: 'application/geo+json, application/json' }); },
    });
    body.dataset.previewReady = '1';
  }

  function describe(pointer) {
    // "/questions/3/options/1/value" → the question's label and the field.
    var m = /^\/questions\/(\d+)(?:\/questions\/(\d+))?(\/.*)?$/.exec(pointer);
    if (!m) return pointer;
    var path = m[2] !== undefined ? [Number(m[1]), Number(m[2])] : [Number(m[1])];
    var q = questionAt(path);
    var name = q ? (q.label[oc.lang] || q.id) : pointer;
    return (path.map(function (n) { return n + 1; }).join('.')) + ' ' + name;
  }

  function showDesignProblems(problems) {
    designProblems.textContent = '';
    problems.forEach(function (p) {
      var li = el('li', 'design-problem');
      li.dataset.pointer = p.pointer;
      li.textContent = describe(p.pointer) + ': ' + p.message;
      designProblems.appendChild(li);
    });
    designProblems.hidden = !problems.length;
    body.dataset.designProblems = String(problems.length);
  }

  $('preview-check').addEventListener('click', function () {
    if (!preview) return;
    var problems = F.checkAnswers(questions, preview.answers(), previewLang);
    preview.showProblems(problems);
    previewProblems.textContent = '';
    problems.forEach(function (p) { previewProblems.appendChild(el('li', null, preview.labelOf(p.pointer) + ': ' + p.message)); });
    if (!problems.length) previewProblems.appendChild(el('li', 'ok', t('fd_preview_ok')));
  });

  document.querySelectorAll('input[name="preview-lang"]').forEach(function (r) {
    r.checked = r.value === previewLang;
    r.addEventListener('change', function () { if (r.checked) { previewLang = r.value; drawPreview(); } });
  });

  $('add-question').addEventListener('click', function () {
    var where = addWhere.value;
    var level = where === '' ? questions : questions[Number(where)].questions;
    var q = defaults(addType.value, level);
    level.push(q);
    selected = where === '' ? [level.length - 1] : [Number(where), level.length - 1];
    changed(true);
    var idIn = $('q-label-zh');
    if (idIn) idIn.focus();
  });

  [titleZh, titleEn, descZh, descEn, keyIn, itemIn].forEach(function (i) {
    i.addEventListener('input', function () { saveStatus.hidden = true; if (i === titleZh || i === titleEn) drawPreview(); });
  });

  // ------------------------------------------------------------------ load and save

  function drawForms() {
    formList.textContent = '';
    forms.forEach(function (f) {
      var li = el('li', 'form-item');
      var b = el('button', 'link form-open', f.title[oc.lang] || f.key);
      b.type = 'button';
      b.dataset.key = f.key;
      b.addEventListener('click', function () { open(f.key); });
      li.appendChild(b);
      li.appendChild(el('span', 'muted small-print', ' ' + f.key + ' · v' + f.version + ' · ' + f.item_code));
      formList.appendChild(li);
    });
  }

  function setForm(f) {
    oc.showError(saveError, '');
    saveStatus.hidden = true;
    isNew = !f;
    keyIn.value = f ? f.key : '';
    keyIn.readOnly = !!f;
    itemIn.value = f ? f.item_code : '';
    titleZh.value = f ? f.title.zh : '';
    titleEn.value = f ? f.title.en : '';
    descZh.value = f && f.description ? f.description.zh : '';
    descEn.value = f && f.description ? f.description.en : '';
    loadedVersion = f ? f.version : 0;
    body.dataset.formKey = f ? f.key : '';
    body.dataset.loadedVersion = String(loadedVersion);
    selected = null;
    if (f) {
      var read = F.fromSchema(f.schema, f.ui, oc.lang);
      questions = read.questions;
      if (read.problems.length) {
        oc.showError(pageError, t('fd_not_designer_form') + '\n' + read.problems.map(function (p) { return p.pointer + ': ' + p.message; }).join('\n'));
      }
    } else {
      questions = [];
    }
    drawList();
    drawEditor();
    drawPreview();
  }

  async function open(key) {
    oc.showError(pageError, '');
    try {
      setForm(await oc.api(base() + '/' + encodeURIComponent(key)));
    } catch (e) {
      oc.showError(pageError, e);
    }
  }

  async function loadForms() {
    forms = await oc.api(base());
    drawForms();
  }

  function descriptionValue() {
    if (!descZh.value.trim() && !descEn.value.trim()) return null;
    return { zh: descZh.value, en: descEn.value };
  }

  $('form-new').addEventListener('click', function () { setForm(null); keyIn.focus(); });

  $('form-save').addEventListener('click', async function () {
    oc.showError(saveError, '');
    saveStatus.hidden = true;
    var key = keyIn.value.trim();
    var problems = [];
    if (!/^[a-z0-9][a-z0-9-]{1,63}$/.test(key)) problems.push({ pointer: '/key', message: t('fd_key_invalid') });
    if (!itemIn.value.trim()) problems.push({ pointer: '/item_code', message: t('fd_item_missing') });
    if (!titleZh.value.trim() || !titleEn.value.trim()) problems.push({ pointer: '/title', message: t('fd_title_missing') });
    problems = problems.concat(F.checkQuestions(questions, oc.lang));
    if (problems.length) {
      showDesignProblems(problems);
      oc.showError(saveError, t('fd_fix_first'));
      return;
    }
    var button = this;
    button.disabled = true;
    try {
      var v = await oc.api(base() + '/' + encodeURIComponent(key) + '/versions?lang=' + oc.lang, {
        method: 'POST',
        json: {
          item_code: itemIn.value.trim(),
          title: { zh: titleZh.value, en: titleEn.value },
          description: descriptionValue(),
          schema: F.toSchema(questions),
          ui: F.toUi(questions),
          expected_version: loadedVersion,
        },
      });
      loadedVersion = v.version;
      isNew = false;
      keyIn.readOnly = true;
      body.dataset.formKey = v.key;
      body.dataset.savedVersion = String(v.version);
      body.dataset.loadedVersion = String(v.version);
      var msg = t('fd_saved').replace('{v}', v.version);
      if (v.breaking_changes && v.breaking_changes.length) {
        msg += ' ' + t('fd_breaking') + ' ' + v.breaking_changes.map(function (c) { return c.question + ' (' + c.change + ')'; }).join(', ');
      }
      saveStatus.textContent = msg;
      saveStatus.hidden = false;
      await loadForms();
    } catch (e) {
      if (e.problem && Array.isArray(e.problem.problems)) showDesignProblems(e.problem.problems);
      oc.showError(saveError, e);
    } finally {
      button.disabled = false;
    }
  });

  window.formDesigner = {
    questions: function () { return questions; },
    schema: function () { return F.toSchema(questions); },
    ui: function () { return F.toUi(questions); },
    open: open,
    select: select,
  };

  oc.initTenants(async function (code) {
    tenant = code;
    body.dataset.tenant = code;
    body.dataset.designerReady = '0';
    oc.showError(pageError, '');
    try {
      await loadForms();
      setForm(null);
      body.dataset.designerReady = '1';
    } catch (e) {
      oc.showError(pageError, e);
    }
  }).catch(function (e) { oc.showError(pageError, e); });
})();
