/* onecity forms (表单): the designer's model ↔ JSON Schema 2020-12 + UI hints, the checks
 * of a design and of answers, and the renderer of a form as a citizen sees it. Shared by
 * the form designer (/console/services/forms) and the fill page (/citizen/forms/{key}).
 *
 * The mapping mirrors crates/onecity-services/src/forms/design.rs line by line (the
 * server refuses a schema that is not exactly what that mapping makes of its questions,
 * so a drift shows at once), and the answer checks mirror forms/validate.rs (same
 * messages, same pointers). No framework, no innerHTML. Exposes `window.onecityForms`. */
(function () {
  'use strict';

  var DIALECT = 'https://json-schema.org/draft/2020-12/schema';
  var KNOWN_TYPES = ['image/jpeg', 'image/png', 'application/pdf', 'image/webp'];
  var TYPE_NAMES = { 'image/jpeg': 'JPEG', 'image/png': 'PNG', 'application/pdf': 'PDF', 'image/webp': 'WebP' };
  var MAX_SIZE_LIMIT = 20 * 1024 * 1024;
  var TYPES = ['text', 'number', 'date', 'choice', 'address', 'id_number', 'file', 'group'];
  // Fields each type may set (besides id, type, label, help, required, show_when).
  var FIELDS = {
    multiline: ['text'], max_length: ['text'], pattern: ['text'],
    integer: ['number'], minimum: ['number'], maximum: ['number'], unit: ['number'],
    widget: ['choice'], options: ['choice'],
    accept: ['file'], max_size: ['file'], min_count: ['file'], max_count: ['file'],
    questions: ['group'], min_items: ['group'], max_items: ['group'],
  };
  var TYPE_ZH = { text: '文本', number: '数字', date: '日期', choice: '选择', address: '地址', id_number: '身份证号', file: '文件', group: '重复组' };

  function has(o, k) { return o !== null && typeof o === 'object' && Object.prototype.hasOwnProperty.call(o, k); }
  function isSet(q, field) {
    var v = q[field];
    if (v === undefined || v === null || v === false) return false;
    if (Array.isArray(v)) return v.length > 0;
    return true;
  }
  function tok(s) { return String(s).replace(/~/g, '~0').replace(/\//g, '~1'); }
  function untok(s) { return String(s).replace(/~1/g, '/').replace(/~0/g, '~'); }

  /** Deep equality of JSON values (object members by name, arrays by position). */
  function sameJson(a, b) {
    if (a === b) return true;
    if (typeof a !== typeof b || a === null || b === null) return false;
    if (Array.isArray(a)) {
      if (!Array.isArray(b) || a.length !== b.length) return false;
      for (var i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
      return true;
    }
    if (typeof a === 'object') {
      if (Array.isArray(b)) return false;
      var ka = Object.keys(a), kb = Object.keys(b);
      if (ka.length !== kb.length) return false;
      for (var j = 0; j < ka.length; j++) if (!has(b, ka[j]) || !sameJson(a[ka[j]], b[ka[j]])) return false;
      return true;
    }
    return false;
  }

  /** Every pointer under `at` where `a` and `b` differ (mirror of design.rs `diff`). */
  function diff(a, b, at, out) {
    if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
      var keys = Object.keys(a).concat(Object.keys(b).filter(function (k) { return !has(a, k); })).sort();
      keys.forEach(function (k) {
        var here = at + '/' + tok(k);
        if (has(a, k) && has(b, k)) diff(a[k], b[k], here, out);
        else out.push(here);
      });
    } else if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
      for (var i = 0; i < a.length; i++) diff(a[i], b[i], at + '/' + i, out);
    } else if (!sameJson(a, b)) {
      out.push(at);
    }
  }

  function isMultiple(q) { return q.widget === 'checkboxes'; }

  function widgetName(q) {
    switch (q.type) {
      case 'text': return q.multiline ? 'textarea' : 'text';
      case 'number': return 'number';
      case 'date': return 'date';
      case 'choice': return q.widget || 'radio';
      case 'address': return 'map';
      case 'id_number': return 'id-number';
      case 'file': return 'file';
      case 'group': return 'group';
    }
    return '';
  }

  // ------------------------------------------------------------ questions → schema

  function addressSchema() {
    return {
      type: 'object',
      properties: {
        text: { type: 'string', minLength: 1, maxLength: 200 },
        lat: { type: 'number', minimum: -90, maximum: 90 },
        lon: { type: 'number', minimum: -180, maximum: 180 },
      },
      required: ['text', 'lat', 'lon'],
      additionalProperties: false,
    };
  }

  function fileItemSchema(accept, maxSize) {
    return {
      type: 'object',
      properties: {
        id: { type: 'string', format: 'uuid' },
        name: { type: 'string', maxLength: 255 },
        media_type: { type: 'string', enum: accept.slice() },
        size: { type: 'integer', minimum: 1, maximum: maxSize },
      },
      required: ['id', 'media_type', 'size'],
      additionalProperties: false,
    };
  }

  function questionSchema(q) {
    var values = (q.options || []).map(function (o) { return o.value; });
    var s = {};
    switch (q.type) {
      case 'text':
        s.type = 'string'; s.minLength = 1;
        if (q.max_length != null) s.maxLength = q.max_length;
        if (q.pattern != null) s.pattern = q.pattern;
        return s;
      case 'number':
        s.type = q.integer ? 'integer' : 'number';
        if (q.minimum != null) s.minimum = q.minimum;
        if (q.maximum != null) s.maximum = q.maximum;
        return s;
      case 'date': return { type: 'string', format: 'date' };
      case 'choice':
        if (isMultiple(q)) return { type: 'array', items: { type: 'string', enum: values }, uniqueItems: true, minItems: 1 };
        return { type: 'string', enum: values };
      case 'address': return addressSchema();
      case 'id_number': return { type: 'string', format: 'id-number' };
      case 'file':
        s.type = 'array';
        s.items = fileItemSchema(q.accept || [], q.max_size == null ? 0 : q.max_size);
        if (q.min_count != null) s.minItems = q.min_count;
        if (q.max_count != null) s.maxItems = q.max_count;
        return s;
      case 'group':
        s.type = 'array';
        s.items = levelSchema(q.questions || []);
        if (q.min_items != null) s.minItems = q.min_items;
        if (q.max_items != null) s.maxItems = q.max_items;
        return s;
    }
    return s;
  }

  function levelSchema(questions) {
    var properties = {}, required = [], rules = [];
    questions.forEach(function (q) {
      properties[q.id] = questionSchema(q);
      var c = q.show_when;
      if (!c) { if (q.required) required.push(q.id); return; }
      var on = questions.filter(function (o) { return o.id === c.question; })[0];
      var test = on && isMultiple(on) ? { contains: { const: c.equals } } : { const: c.equals };
      var ifProps = {}; ifProps[c.question] = test;
      var rule = { if: { properties: ifProps, required: [c.question] } };
      if (q.required) rule.then = { required: [q.id] };
      var elseProps = {}; elseProps[q.id] = false;
      rule.else = { properties: elseProps };
      rules.push(rule);
    });
    var level = { type: 'object', properties: properties, required: required, additionalProperties: false };
    if (rules.length) level.allOf = rules;
    return level;
  }

  /** The JSON Schema 2020-12 of a form with these questions. */
  function toSchema(questions) {
    var root = { $schema: DIALECT };
    var level = levelSchema(questions);
    Object.keys(level).forEach(function (k) { root[k] = level[k]; });
    return root;
  }

  function levelUi(questions) {
    var hints = {};
    questions.forEach(function (q) {
      var h = { label: { zh: q.label.zh, en: q.label.en } };
      if (q.help) h.help = { zh: q.help.zh, en: q.help.en };
      h.widget = widgetName(q);
      if (q.type === 'choice') {
        var options = {};
        (q.options || []).forEach(function (o) { options[o.value] = { zh: o.label.zh, en: o.label.en }; });
        h.options = options;
      }
      if (q.unit) h.unit = { zh: q.unit.zh, en: q.unit.en };
      if (q.type === 'group') {
        var inner = levelUi(q.questions || []);
        h.order = inner.order; h.questions = inner.questions;
      }
      hints[q.id] = h;
    });
    return { order: questions.map(function (q) { return q.id; }), questions: hints };
  }

  /** The UI hints of a form with these questions. */
  function toUi(questions) { return levelUi(questions); }

  // ------------------------------------------------------------ checks of a design

  function Problems(lang) {
    this.lang = lang;
    this.list = [];
  }
  Problems.prototype.add = function (pointer, zh, en) {
    this.list.push({ pointer: pointer, message: this.lang === 'zh' ? zh : en });
  };

  function validId(id) { return typeof id === 'string' && /^[a-z][a-z0-9_]{0,39}$/.test(id); }
  function validOption(v) { return typeof v === 'string' && /^[A-Za-z0-9_-]{1,40}$/.test(v); }
  function chars(s) { return Array.from(String(s || '')).length; }

  function checkText(p, pointer, t, whatZh, whatEn, max) {
    ['zh', 'en'].forEach(function (l) {
      var n = chars(String((t && t[l]) || '').trim());
      if (n === 0) p.add(pointer + '/' + l, whatZh + '（' + l + '）不能为空', 'the ' + whatEn + ' (' + l + ') is empty');
      else if (n > max) p.add(pointer + '/' + l, whatZh + '（' + l + '）最多' + max + '个字', 'the ' + whatEn + ' (' + l + ') is longer than ' + max + ' characters');
    });
  }

  /** Every problem of a question list (mirror of design.rs `check_questions`). */
  function checkQuestions(questions, lang) {
    var p = new Problems(lang);
    if (!questions.length) p.add('/questions', '表单至少要有一个问题', 'a form has at least one question');
    var total = questions.reduce(function (n, q) { return n + 1 + (q.questions || []).length; }, 0);
    if (total > 300) p.add('/questions', '表单最多300个问题', 'a form has at most 300 questions');
    checkLevel(p, questions, '/questions', 0);
    return p.list;
  }

  function checkLevel(p, questions, at, depth) {
    if (questions.length > 100) p.add(at, '同一层最多100个问题', 'at most 100 questions on one level');
    var seen = {};
    questions.forEach(function (q, i) {
      var here = at + '/' + i;
      if (!validId(q.id)) {
        p.add(here + '/id', '问题标识“' + q.id + '”无效：以小写字母开头，只含小写字母、数字和下划线，最多40个字符',
          'the question id ' + JSON.stringify(q.id) + ' is not valid: a lower-case letter, then lower-case letters, digits and _, at most 40 characters');
      } else if (seen[q.id]) {
        p.add(here + '/id', '问题标识“' + q.id + '”重复', 'the question id ' + JSON.stringify(q.id) + ' is used twice');
      }
      seen[q.id] = true;
      checkText(p, here + '/label', q.label, '标题', 'label', 200);
      if (q.help) checkText(p, here + '/help', q.help, '说明', 'help', 1000);
      checkFields(p, q, here, depth);
      if (q.show_when) checkCondition(p, q.show_when, questions.slice(0, i), here + '/show_when');
    });
  }

  function missing(p, here, field, q) {
    p.add(here + '/' + field, TYPE_ZH[q.type] + '类问题需要“' + field + '”', 'a ' + q.type + ' question needs ' + field);
  }

  function checkFields(p, q, here, depth) {
    Object.keys(FIELDS).forEach(function (field) {
      if (isSet(q, field) && FIELDS[field].indexOf(q.type) < 0) {
        p.add(here + '/' + field, '“' + field + '”不适用于' + TYPE_ZH[q.type] + '类问题', field + ' does not apply to a ' + q.type + ' question');
      }
    });
    if (q.type === 'text') {
      if (q.max_length == null) missing(p, here, 'max_length', q);
      else if (!(q.max_length >= 1 && q.max_length <= 10000)) p.add(here + '/max_length', '最大长度应在1到10000之间', 'max_length is 1 to 10000');
      else if (q.pattern != null && (q.pattern === '' || chars(q.pattern) > 500)) p.add(here + '/pattern', '格式（正则表达式）应为1到500个字符', 'the pattern is 1 to 500 characters');
    } else if (q.type === 'number') {
      if (q.minimum != null && q.maximum != null && q.minimum > q.maximum) p.add(here + '/maximum', '最大值不能小于最小值', 'maximum is less than minimum');
      ['minimum', 'maximum'].forEach(function (f) {
        if (q[f] != null && q.integer && !Number.isInteger(q[f])) p.add(here + '/' + f, '整数问题的上下限应为整数', f + ' of a whole-number question is a whole number');
      });
    } else if (q.type === 'choice') {
      if (!q.widget) missing(p, here, 'widget', q);
      var opts = q.options || [];
      if (opts.length < 2 || opts.length > 100) p.add(here + '/options', '选择题需要2到100个选项', 'a choice question has 2 to 100 options');
      var values = {};
      opts.forEach(function (o, j) {
        var op = here + '/options/' + j;
        if (!validOption(o.value)) p.add(op + '/value', '选项值“' + o.value + '”无效：1到40个字母、数字、_ 或 -', 'the option value ' + JSON.stringify(o.value) + ' is not valid: 1 to 40 letters, digits, _ or -');
        else if (values[o.value]) p.add(op + '/value', '选项值“' + o.value + '”重复', 'the option value ' + JSON.stringify(o.value) + ' is used twice');
        values[o.value] = true;
        checkText(p, op + '/label', o.label, '选项文字', 'option label', 200);
      });
    } else if (q.type === 'file') {
      var accept = q.accept || [];
      if (!accept.length) missing(p, here, 'accept', q);
      var seenT = {};
      accept.forEach(function (t, j) {
        if (KNOWN_TYPES.indexOf(t) < 0 || seenT[t]) {
          p.add(here + '/accept/' + j, '文件类型“' + t + '”无效或重复，可选：' + KNOWN_TYPES.join('、'), 'the file type ' + JSON.stringify(t) + ' is unknown or repeated; known: ' + KNOWN_TYPES.join(', '));
        }
        seenT[t] = true;
      });
      if (q.max_size == null) missing(p, here, 'max_size', q);
      else if (!(q.max_size >= 1 && q.max_size <= MAX_SIZE_LIMIT)) p.add(here + '/max_size', '单个文件最大应在1到' + MAX_SIZE_LIMIT + '字节之间', 'max_size is 1 to ' + MAX_SIZE_LIMIT + ' bytes');
      if (q.min_count == null) missing(p, here, 'min_count', q);
      else if (q.max_count == null) missing(p, here, 'max_count', q);
      else if (q.max_count === 0 || q.max_count > 20 || q.min_count > q.max_count) p.add(here + '/max_count', '文件数量：最多应在1到20之间，且不少于最少数量', 'max_count is 1 to 20 and not below min_count');
    } else if (q.type === 'group') {
      if (depth > 0) p.add(here + '/type', '重复组不能嵌套', 'a repeatable group cannot hold another group');
      if (!(q.questions || []).length) missing(p, here, 'questions', q);
      if (q.max_items != null) {
        if (q.max_items === 0 || q.max_items > 50 || (q.min_items != null && q.min_items > q.max_items)) p.add(here + '/max_items', '重复次数：最多应在1到50之间，且不少于最少次数', 'max_items is 1 to 50 and not below min_items');
      } else if (q.min_items != null && q.min_items > 50) {
        p.add(here + '/min_items', '重复次数最多50', 'min_items is at most 50');
      }
      checkLevel(p, q.questions || [], here + '/questions', depth + 1);
    }
  }

  function optionLabel(q, value) {
    var o = (q.options || []).filter(function (x) { return x.value === value; })[0];
    return o ? o.label : null;
  }

  function checkCondition(p, c, earlier, at) {
    var on = earlier.filter(function (q) { return q.id === c.question; })[0];
    if (!on) {
      p.add(at + '/question', '条件引用的问题“' + c.question + '”不在本问题之前（同一层）', 'the condition names ' + JSON.stringify(c.question) + ', which is not an earlier question of the same level');
    } else if (on.type !== 'choice') {
      p.add(at + '/question', '条件只能引用选择题，“' + c.question + '”不是', 'a condition names a choice question; ' + JSON.stringify(c.question) + ' is not one');
    } else if (!optionLabel(on, c.equals)) {
      p.add(at + '/equals', '“' + c.equals + '”不是问题“' + c.question + '”的选项', JSON.stringify(c.equals) + ' is not an option of ' + JSON.stringify(c.question));
    }
  }

  // ------------------------------------------------------------ schema → questions

  function bilingual(v) {
    if (!v || typeof v !== 'object' || typeof v.zh !== 'string' || typeof v.en !== 'string' || Object.keys(v).length !== 2) return null;
    return { zh: v.zh, en: v.en };
  }
  function u64(v) { return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : null; }
  function strings(v) {
    if (!Array.isArray(v) || !v.every(function (s) { return typeof s === 'string'; })) return null;
    return v.slice();
  }

  /** A question with only its common fields set (the order of fields as design.rs writes them). */
  function newQuestion(id, type, zh, en) { return { id: id, type: type, label: { zh: zh, en: en } }; }

  function readQuestion(p, id, s, hint, sp, up, depth) {
    var label = bilingual(hint && hint.label);
    if (!label) { p.add(up + '/label', '问题“' + id + '”缺少中英文标题 label {zh, en}', 'the question ' + JSON.stringify(id) + ' has no label {zh, en}'); return null; }
    var widget = (hint && typeof hint.widget === 'string') ? hint.widget : '';
    var type = ({ text: 'text', textarea: 'text', number: 'number', date: 'date', radio: 'choice', select: 'choice', checkboxes: 'choice', map: 'address', 'id-number': 'id_number', file: 'file', group: 'group' })[widget];
    if (!type) { p.add(up + '/widget', '问题“' + id + '”的控件“' + widget + '”未知', 'the question ' + JSON.stringify(id) + ' has an unknown widget ' + JSON.stringify(widget)); return null; }
    var q = newQuestion(id, type, label.zh, label.en);
    var help = bilingual(hint.help);
    if (help) q.help = help;
    var unit = bilingual(hint.unit);
    s = s || {};
    if (type === 'text') {
      if (widget === 'textarea') q.multiline = true;
      if (u64(s.maxLength) !== null) q.max_length = s.maxLength;
      if (typeof s.pattern === 'string') q.pattern = s.pattern;
    } else if (type === 'number') {
      if (s.type === 'integer') q.integer = true;
      if (typeof s.minimum === 'number') q.minimum = s.minimum;
      if (typeof s.maximum === 'number') q.maximum = s.maximum;
    } else if (type === 'choice') {
      q.widget = widget;
      var values = strings(widget === 'checkboxes' ? (s.items && s.items.enum) : s.enum) || [];
      var labels = hint.options && typeof hint.options === 'object' ? hint.options : {};
      q.options = [];
      values.forEach(function (v) {
        var l = bilingual(labels[v]);
        if (l) q.options.push({ value: v, label: l });
        else p.add(up + '/options/' + tok(v), '选项“' + v + '”缺少中英文文字', 'the option ' + JSON.stringify(v) + ' has no label {zh, en}');
      });
    } else if (type === 'file') {
      var item = (s.items && s.items.properties) || {};
      var accept = strings(item.media_type && item.media_type.enum);
      if (accept && accept.length) q.accept = accept;
      if (item.size && u64(item.size.maximum) !== null) q.max_size = item.size.maximum;
      if (u64(s.minItems) !== null) q.min_count = s.minItems;
      if (u64(s.maxItems) !== null) q.max_count = s.maxItems;
    } else if (type === 'group') {
      var inner = readLevel(p, s.items || {}, hint, sp + '/items', up, depth + 1);
      if (inner.length) q.questions = inner;
      if (u64(s.minItems) !== null) q.min_items = s.minItems;
      if (u64(s.maxItems) !== null) q.max_items = s.maxItems;
    }
    if (unit) q.unit = unit;
    return q;
  }

  function readRule(p, rule, questions, at) {
    var elseProps = rule && rule.else && rule.else.properties;
    var ifProps = rule && rule.if && rule.if.properties;
    var target = elseProps && typeof elseProps === 'object' ? Object.keys(elseProps)[0] : null;
    var on = ifProps && typeof ifProps === 'object' ? Object.keys(ifProps)[0] : null;
    if (!target || !on) {
      p.add(at, '条件规则应为 if/then/else：if 检查一个选择题的答案，else 排除被控制的问题', 'a condition rule is if/then/else: if tests one choice answer, else excludes the question it controls');
      return;
    }
    var test = ifProps[on] || {};
    var equals = typeof test.const === 'string' ? test.const : (test.contains && typeof test.contains.const === 'string' ? test.contains.const : null);
    if (equals === null) { p.add(at + '/if', '条件应比较一个选项值（const）', 'a condition compares one option value (const)'); return; }
    var q = questions.filter(function (x) { return x.id === target; })[0];
    if (!q) { p.add(at + '/else', '条件控制的问题“' + target + '”不存在', 'the condition controls ' + JSON.stringify(target) + ', which is not a question here'); return; }
    q.show_when = { question: on, equals: equals };
    if (rule.then !== undefined) q.required = true;
  }

  function readLevel(p, schema, ui, sp, up, depth) {
    var props = schema && schema.properties;
    if (!props || typeof props !== 'object' || Array.isArray(props)) { p.add(sp + '/properties', '缺少 properties 对象', 'properties (an object) is missing'); return []; }
    var order = strings(ui && ui.order);
    if (!order) { p.add(up + '/order', '缺少问题顺序 order（问题标识的数组）', 'order (an array of question ids) is missing'); return []; }
    var hints = (ui && ui.questions && typeof ui.questions === 'object') ? ui.questions : {};
    var questions = [];
    order.forEach(function (id) {
      if (!has(props, id)) { p.add(up + '/order', '顺序中的“' + id + '”不在表单结构中', JSON.stringify(id) + ' is in the order but not in the schema\'s properties'); return; }
      if (!has(hints, id)) { p.add(up + '/questions/' + tok(id), '问题“' + id + '”缺少界面提示', 'the question ' + JSON.stringify(id) + ' has no ui hints'); return; }
      var q = readQuestion(p, id, props[id], hints[id], sp + '/properties/' + tok(id), up + '/questions/' + tok(id), depth);
      if (q) questions.push(q);
    });
    Object.keys(props).forEach(function (id) {
      if (order.indexOf(id) < 0) p.add(sp + '/properties/' + tok(id), '问题“' + id + '”不在界面提示的顺序 order 中', 'the question ' + JSON.stringify(id) + ' is not in the ui order');
    });
    (strings(schema.required) || []).forEach(function (id) {
      questions.forEach(function (q) { if (q.id === id) q.required = true; });
    });
    if (Array.isArray(schema.allOf)) schema.allOf.forEach(function (rule, i) { readRule(p, rule, questions, sp + '/allOf/' + i); });
    return questions;
  }

  /**
   * Reads a stored schema and hints back into questions: {questions, problems}. As on the
   * server, it ends by making the schema and hints again and listing every pointer where
   * they differ, so no problems means an exact round trip.
   */
  function fromSchema(schema, ui, lang) {
    var p = new Problems(lang || 'en');
    if (!schema || schema.$schema !== DIALECT) p.add('/schema/$schema', '表单结构须声明 $schema 为 ' + DIALECT, 'the schema\'s $schema must be ' + DIALECT);
    var questions = readLevel(p, schema || {}, ui || {}, '/schema', '/ui', 0);
    if (p.list.length) return { questions: questions, problems: p.list };
    var problems = checkQuestions(questions, lang || 'en');
    if (problems.length) return { questions: questions, problems: problems };
    var diffs = [];
    diff(schema, toSchema(questions), '/schema', diffs);
    diff(ui, toUi(questions), '/ui', diffs);
    diffs.slice(0, 40).forEach(function (d) {
      p.add(d, '此处与表单设计器生成的结构不同（只能保存设计器能表示的表单）', 'differs from what the designer makes of these questions (only forms the designer can show are kept)');
    });
    return { questions: questions, problems: p.list };
  }

  // ------------------------------------------------------------ answer checks

  var ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

  /** The GB 11643-1999 check character of a 17-digit body, or null. */
  function idCheckChar(body) {
    if (!/^[0-9]{17}$/.test(body)) return null;
    var sum = 0;
    for (var i = 0; i < 17; i++) sum += Number(body[i]) * ID_WEIGHTS[i];
    var c = (12 - (sum % 11)) % 11;
    return c === 10 ? 'X' : String(c);
  }

  function todayCn() {
    var d = new Date(Date.now() + 8 * 3600 * 1000);
    return d.toISOString().slice(0, 10).replace(/-/g, '');
  }

  /** The problem of an identity number in `lang` (mirror of onecity_iam::idnum), or null. */
  function idNumberProblem(raw, lang) {
    var n = String(raw).trim().toUpperCase();
    var zh = lang === 'zh';
    if (Array.from(n).length !== 18 || !/^[\x00-\x7f]*$/.test(n)) {
      return zh ? '身份证号应为18位' : 'an identity number has 18 characters, not ' + Array.from(n).length;
    }
    var body = n.slice(0, 17), check = n[17];
    if (!/^[0-9]{17}$/.test(body) || !/[0-9X]/.test(check)) {
      return zh ? '身份证号前17位应为数字，末位为数字或X' : 'an identity number is 17 digits and a digit or X';
    }
    var y = body.slice(6, 10), m = body.slice(10, 12), d = body.slice(12, 14);
    var date = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)));
    var real = date.getUTCFullYear() === Number(y) && date.getUTCMonth() === Number(m) - 1 && date.getUTCDate() === Number(d);
    if (!real || y < '1900' || body.slice(6, 14) > todayCn()) {
      return zh ? '身份证号中的出生日期无效' : 'the birth date ' + y + m + d + ' in the identity number is not a real date';
    }
    var expected = idCheckChar(body);
    if (check !== expected) {
      return zh ? '身份证号校验码错误'
        : 'the check digit of the identity number is wrong (GB 11643-1999): the last character should be ' + expected + ', not ' + check;
    }
    return null;
  }

  function validDate(s) {
    if (typeof s !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
    var p = s.split('-').map(Number);
    var d = new Date(Date.UTC(p[0], p[1] - 1, p[2]));
    return d.getUTCFullYear() === p[0] && d.getUTCMonth() === p[1] - 1 && d.getUTCDate() === p[2];
  }

  function conditionHolds(c, level, answers) {
    var on = level.filter(function (o) { return o.id === c.question; })[0];
    var v = answers ? answers[c.question] : undefined;
    if (v === undefined) return false;
    if (on && isMultiple(on)) return Array.isArray(v) && v.indexOf(c.equals) >= 0;
    return v === c.equals;
  }

  function requiredMessage(q, level, lang) {
    if (!q.show_when) return lang === 'zh' ? '此项必填' : 'this question is required';
    var on = level.filter(function (o) { return o.id === q.show_when.question; })[0];
    var onLabel = on ? on.label[lang] : q.show_when.question;
    var vl = on ? optionLabel(on, q.show_when.equals) : null;
    var v = vl ? vl[lang] : q.show_when.equals;
    return lang === 'zh' ? '此项必填（因为“' + onLabel + '”选择了“' + v + '”）'
      : 'this question is required because \u201c' + onLabel + '\u201d is \u201c' + v + '\u201d';
  }

  /**
   * Every problem of `answers` for these questions in the browser, with the server's
   * messages and pointers (the server checks again; this saves a round trip).
   */
  function checkAnswers(questions, answers, lang) {
    var out = [];
    checkAnswerLevel(questions, answers || {}, '', lang, out);
    return out;
  }

  function checkAnswerLevel(level, answers, at, lang, out) {
    var zh = lang === 'zh';
    function add(pointer, keyword, zhText, enText) { out.push({ pointer: pointer, keyword: keyword, message: zh ? zhText : enText }); }
    level.forEach(function (q) {
      var here = at + '/' + tok(q.id);
      var v = answers[q.id];
      var shown = !q.show_when || conditionHolds(q.show_when, level, answers);
      if (v === undefined) {
        if (q.required && shown) out.push({ pointer: here, keyword: 'required', message: requiredMessage(q, level, lang) });
        return;
      }
      if (!shown) {
        var on = level.filter(function (o) { return o.id === q.show_when.question; })[0];
        var ol = on ? on.label[lang] : q.show_when.question;
        var vl = on && optionLabel(on, q.show_when.equals);
        var vv = vl ? vl[lang] : q.show_when.equals;
        add(here, 'falseSchema', '仅当“' + ol + '”选择“' + vv + '”时回答此项，请删除此答案', 'answer this only when \u201c' + ol + '\u201d is \u201c' + vv + '\u201d; remove this answer');
        return;
      }
      switch (q.type) {
        case 'text':
          if (typeof v !== 'string') { add(here, 'type', '应填写文字', 'must be text'); break; }
          if (v.length === 0) add(here, 'minLength', '不能为空', 'must not be empty');
          else if (q.max_length != null && chars(v) > q.max_length) add(here, 'maxLength', '最多' + q.max_length + '个字', 'must have at most ' + q.max_length + ' characters');
          else if (q.pattern) { try { if (!new RegExp(q.pattern, 'u').test(v)) add(here, 'pattern', '格式不正确', 'is not in the expected format'); } catch (e) { /* the server decides */ } }
          break;
        case 'number': {
          var unit = q.unit ? ' ' + q.unit[lang] : '';
          if (typeof v !== 'number' || !isFinite(v)) { add(here, 'type', q.integer ? '应为整数' : '应为数字', q.integer ? 'must be a whole number' : 'must be a number'); break; }
          if (q.integer && !Number.isInteger(v)) { add(here, 'type', '应为整数', 'must be a whole number'); break; }
          if (q.minimum != null && v < q.minimum) add(here, 'minimum', '不能小于' + q.minimum + unit, 'must be at least ' + q.minimum + unit);
          if (q.maximum != null && v > q.maximum) add(here, 'maximum', '不能大于' + q.maximum + unit, 'must be at most ' + q.maximum + unit);
          break;
        }
        case 'date':
          if (!validDate(v)) add(here, 'format', '不是有效日期（格式 YYYY-MM-DD）', 'is not a valid date (YYYY-MM-DD)');
          break;
        case 'id_number': {
          if (typeof v !== 'string') { add(here, 'type', '应填写身份证号（文字）', 'must be an identity number (text)'); break; }
          var idp = idNumberProblem(v, lang);
          if (idp) out.push({ pointer: here, keyword: 'format', message: idp });
          break;
        }
        case 'choice': {
          var values = (q.options || []).map(function (o) { return o.value; });
          if (isMultiple(q)) {
            if (!Array.isArray(v)) { add(here, 'type', '应为所选选项的列表', 'must be a list of chosen options'); break; }
            if (v.length === 0) add(here, 'minItems', '至少选择一项', 'choose at least one option');
            v.forEach(function (x, i) { if (values.indexOf(x) < 0) add(here + '/' + i, 'enum', '不是可选的选项', 'is not one of the options'); });
          } else if (values.indexOf(v) < 0) {
            add(here, 'enum', '不是可选的选项', 'is not one of the options');
          }
          break;
        }
        case 'address':
          if (!v || typeof v !== 'object') { add(here, 'type', '应为地址（文字和地图上的位置）', 'must be an address (text and a point on the map)'); break; }
          if (typeof v.text !== 'string' || !v.text.trim()) add(here + '/text', 'required', '请填写地址', 'enter the address');
          else if (chars(v.text) > 200) add(here + '/text', 'maxLength', '最多200个字', 'must have at most 200 characters');
          if (typeof v.lat !== 'number') add(here + '/lat', 'required', '请在地图上选择位置', 'pick the place on the map');
          else if (v.lat < -90 || v.lat > 90) add(here + '/lat', 'maximum', '地图上的位置超出范围', 'the point on the map is out of range');
          if (typeof v.lon !== 'number') add(here + '/lon', 'required', '请在地图上选择位置', 'pick the place on the map');
          else if (v.lon < -180 || v.lon > 180) add(here + '/lon', 'maximum', '地图上的位置超出范围', 'the point on the map is out of range');
          break;
        case 'file':
          if (!Array.isArray(v)) { add(here, 'type', '应为上传文件的列表', 'must be a list of uploaded files'); break; }
          if (q.min_count != null && v.length < q.min_count) add(here, 'minItems', '至少上传' + q.min_count + '个文件', q.min_count === 1 ? 'upload at least 1 file' : 'upload at least ' + q.min_count + ' files');
          if (q.max_count != null && v.length > q.max_count) add(here, 'maxItems', '最多上传' + q.max_count + '个文件', 'upload at most ' + q.max_count + ' files');
          break;
        case 'group':
          if (!Array.isArray(v)) { add(here, 'type', '应为一组组答案的列表', 'must be a list of entries'); break; }
          if (q.min_items != null && v.length < q.min_items) add(here, 'minItems', '至少填写' + q.min_items + '组', 'add at least ' + q.min_items + ' entries');
          if (q.max_items != null && v.length > q.max_items) add(here, 'maxItems', '最多填写' + q.max_items + '组', 'add at most ' + q.max_items + ' entries');
          v.forEach(function (entry, i) { checkAnswerLevel(q.questions || [], entry || {}, here + '/' + i, lang, out); });
          break;
      }
    });
  }

  // ------------------------------------------------------------ rendering

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  var DEFAULT_CENTERS = { hangzhou: [120.16, 30.27], nyc: [-73.97, 40.75], melbourne: [144.96, -37.81] };
  var uid = 0;

  /**
   * Renders `questions` into `container` as a citizen sees them. `opts`: {lang, tenant,
   * formKey, preview (no uploads), upload(file, questionPath) → Promise<fileRef>,
   * onChange()}. Returns {answers(), showProblems(list), clearProblems(), refresh()}.
   */
  function render(container, questions, opts) {
    opts = opts || {};
    var lang = opts.lang === 'zh' ? 'zh' : 'en';
    var zh = lang === 'zh';
    container.textContent = '';
    var fields = [];  // {pointer, wrap, error}
    var maps = [];
    var root = buildLevel(questions, '', [], container);

    function buildLevel(level, at, path, parent) {
      var items = level.map(function (q) { return buildQuestion(q, level, at, path, parent); });
      var ctl = {
        level: level,
        items: items,
        answers: function () {
          var out = {};
          items.forEach(function (it) {
            if (!it.visible(out)) return;
            var v = it.value();
            if (v !== undefined) out[it.q.id] = v;
          });
          return out;
        },
        refresh: function () {
          var acc = {};
          items.forEach(function (it) {
            var vis = it.visible(acc);
            it.wrap.hidden = !vis;
            if (vis) { var v = it.value(); if (v !== undefined) acc[it.q.id] = v; }
            if (it.refresh) it.refresh();
          });
        },
      };
      return ctl;
    }

    function changed() {
      root.refresh();
      if (opts.onChange) opts.onChange();
    }

    function buildQuestion(q, level, at, path, parent) {
      var pointer = at + '/' + tok(q.id);
      var qpath = path.concat([q.id]);
      var id = 'fq-' + (++uid);
      var wrap = el('div', 'fq fq-' + q.type);
      wrap.dataset.pointer = pointer;
      wrap.dataset.question = q.id;
      var isGroupLike = q.type === 'choice' && q.widget !== 'select' || q.type === 'group' || q.type === 'address' || q.type === 'file';
      var label = el(isGroupLike ? 'div' : 'label', 'fq-label', q.label[lang]);
      if (!isGroupLike) label.htmlFor = id;
      else label.id = id + '-label';
      if (q.required) { var star = el('span', 'fq-req', ' *'); star.setAttribute('aria-hidden', 'true'); label.appendChild(star); }
      wrap.appendChild(label);
      if (q.help) { var help = el('div', 'fq-help', q.help[lang]); help.id = id + '-help'; wrap.appendChild(help); }
      var error = el('div', 'fq-error error');
      error.id = id + '-error';
      error.hidden = true;
      var item = { q: q, wrap: wrap, error: error, pointer: pointer };
      item.visible = function (acc) { return !q.show_when || conditionHolds(q.show_when, level, acc); };
      var input;
      switch (q.type) {
        case 'text':
        case 'id_number':
          input = el(q.multiline ? 'textarea' : 'input', 'fq-input');
          if (!q.multiline) input.type = 'text';
          if (q.type === 'id_number') { input.maxLength = 18; input.autocomplete = 'off'; input.spellcheck = false; input.placeholder = zh ? '18位身份证号码' : '18 characters'; }
          else if (q.max_length) input.maxLength = q.max_length;
          if (q.multiline) input.rows = 3;
          if (q.pattern && /\^1\[3-9\]/.test(q.pattern)) { input.inputMode = 'tel'; input.type = 'tel'; }
          input.addEventListener('input', changed);
          item.value = function () { var s = input.value.trim(); return s ? (q.type === 'id_number' ? s.toUpperCase() : s) : undefined; };
          break;
        case 'number':
          input = el('input', 'fq-input');
          input.type = 'text';
          input.inputMode = q.integer ? 'numeric' : 'decimal';
          input.addEventListener('input', changed);
          item.value = function () {
            var s = input.value.trim();
            if (!s) return undefined;
            var n = Number(s);
            return isFinite(n) ? n : s;
          };
          if (q.unit) {
            var row = el('div', 'fq-unit-row');
            row.appendChild(input);
            row.appendChild(el('span', 'fq-unit', q.unit[lang]));
            wrap.appendChild(row);
            input.id = id;
            input = null;
          }
          break;
        case 'date':
          input = el('input', 'fq-input');
          input.type = 'date';
          input.addEventListener('input', changed);
          input.addEventListener('change', changed);
          item.value = function () { return input.value || undefined; };
          break;
        case 'choice':
          if (q.widget === 'select') {
            input = el('select', 'fq-input');
            var none = el('option', null, zh ? '请选择' : 'Choose…');
            none.value = '';
            input.appendChild(none);
            q.options.forEach(function (o) { var op = el('option', null, o.label[lang]); op.value = o.value; input.appendChild(op); });
            input.addEventListener('change', changed);
            item.value = function () { return input.value || undefined; };
          } else {
            var group = el('div', 'fq-options');
            group.setAttribute('role', q.widget === 'checkboxes' ? 'group' : 'radiogroup');
            group.setAttribute('aria-labelledby', id + '-label');
            var name = id + '-opt';
            var boxes = q.options.map(function (o, j) {
              var lab = el('label', 'fq-option');
              var box = el('input');
              box.type = q.widget === 'checkboxes' ? 'checkbox' : 'radio';
              box.name = name;
              box.value = o.value;
              box.id = id + '-' + j;
              box.addEventListener('change', changed);
              lab.appendChild(box);
              lab.appendChild(el('span', null, o.label[lang]));
              group.appendChild(lab);
              return box;
            });
            wrap.appendChild(group);
            item.value = function () {
              var chosen = boxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
              if (q.widget === 'checkboxes') return chosen.length ? chosen : undefined;
              return chosen.length ? chosen[0] : undefined;
            };
          }
          break;
        case 'address':
          buildAddress(item, id);
          break;
        case 'file':
          buildFile(item, id, qpath);
          break;
        case 'group':
          buildGroup(item, pointer, qpath);
          break;
      }
      if (input) {
        input.id = id;
        var described = [q.help ? id + '-help' : null, id + '-error'].filter(Boolean).join(' ');
        input.setAttribute('aria-describedby', described);
        wrap.appendChild(input);
        item.input = input;
      }
      wrap.appendChild(error);
      parent.appendChild(wrap);
      fields.push(item);
      return item;
    }

    function buildAddress(item, id) {
      var text = el('input', 'fq-input fq-address-text');
      text.type = 'text';
      text.maxLength = 200;
      text.id = id;
      text.setAttribute('aria-labelledby', id + '-label');
      text.placeholder = zh ? '详细地址' : 'Street address';
      text.addEventListener('input', changed);
      var mapEl = el('div', 'fq-map');
      mapEl.setAttribute('role', 'application');
      mapEl.setAttribute('aria-label', zh ? '在地图上点选位置' : 'Pick the place on the map');
      var coords = el('div', 'fq-coords muted', zh ? '尚未在地图上选择位置' : 'No place picked on the map yet');
      item.wrap.appendChild(text);
      item.wrap.appendChild(mapEl);
      item.wrap.appendChild(coords);
      var point = null;
      var marker = null;
      var map = null;
      function setPoint(lat, lon) {
        point = { lat: Math.round(lat * 1e6) / 1e6, lon: Math.round(lon * 1e6) / 1e6 };
        coords.textContent = (zh ? '已选位置：' : 'Picked: ') + point.lat.toFixed(5) + ', ' + point.lon.toFixed(5);
        item.wrap.dataset.picked = '1';
        if (map && window.maplibregl) {
          if (!marker) marker = new window.maplibregl.Marker({ color: '#b3261e' });
          marker.setLngLat([point.lon, point.lat]).addTo(map);
        }
        changed();
      }
      item.pick = setPoint;
      item.value = function () {
        var s = text.value.trim();
        if (!s && !point) return undefined;
        var v = {};
        if (s) v.text = s;
        if (point) { v.lat = point.lat; v.lon = point.lon; }
        return v;
      };
      if (!window.maplibregl) return;
      var center = DEFAULT_CENTERS[opts.tenant] || [110, 30];
      map = new window.maplibregl.Map({
        container: mapEl,
        center: center,
        zoom: DEFAULT_CENTERS[opts.tenant] ? 9 : 3,
        attributionControl: false,
        style: {
          version: 8,
          sources: { boundaries: { type: 'geojson', data: { type: 'FeatureCollection', features: [] } } },
          layers: [
            { id: 'background', type: 'background', paint: { 'background-color': '#eef2f5' } },
            { id: 'b-fill', type: 'fill', source: 'boundaries', paint: { 'fill-color': '#1d4e89', 'fill-opacity': 0.12 } },
            { id: 'b-line', type: 'line', source: 'boundaries', paint: { 'line-color': '#1d4e89', 'line-width': 1 } },
          ],
        },
      });
      map.addControl(new window.maplibregl.NavigationControl({ showCompass: false }), 'top-left');
      map.on('click', function (e) { setPoint(e.lngLat.lat, e.lngLat.lng); });
      map.on('load', function () {
        mapEl.dataset.mapReady = '1';
        if (opts.boundaries) {
          opts.boundaries().then(function (fc) {
            if (fc && fc.features) map.getSource('boundaries').setData(fc);
          }).catch(function () { /* a citizen may not read boundaries: the map stays plain */ });
        }
      });
      maps.push(map);
      item.map = map;
      item.refresh = function () { if (!item.wrap.hidden) map.resize(); };
    }

    function buildFile(item, id, qpath) {
      var q = item.q;
      var input = el('input', 'fq-file-input');
      input.type = 'file';
      input.id = id;
      input.multiple = (q.max_count || 1) > 1;
      input.accept = (q.accept || []).join(',');
      input.setAttribute('aria-labelledby', id + '-label');
      var limits = el('div', 'fq-help fq-limits');
      var types = (q.accept || []).map(function (t) { return TYPE_NAMES[t] || t; }).join(zh ? '、' : ', ');
      var mib = ((q.max_size || 0) / 1048576).toFixed(1).replace(/\.0$/, '');
      limits.textContent = zh
        ? '可上传 ' + types + '，单个最大 ' + mib + ' MiB，' + q.min_count + '–' + q.max_count + ' 个'
        : types + ', at most ' + mib + ' MiB each, ' + q.min_count + '–' + q.max_count + ' files';
      var list = el('ul', 'fq-files');
      var status = el('div', 'fq-upload-status muted');
      status.setAttribute('role', 'status');
      item.wrap.appendChild(limits);
      item.wrap.appendChild(input);
      item.wrap.appendChild(list);
      item.wrap.appendChild(status);
      var files = [];
      function draw() {
        list.textContent = '';
        files.forEach(function (f, i) {
          var li = el('li', 'fq-file-item');
          li.appendChild(el('span', null, f.name + ' (' + (TYPE_NAMES[f.media_type] || f.media_type) + ', ' + (f.size < 1024 ? f.size + ' B' : Math.round(f.size / 1024) + ' KiB') + ')'));
          var rm = el('button', 'secondary small', zh ? '移除' : 'Remove');
          rm.type = 'button';
          rm.addEventListener('click', function () { files.splice(i, 1); draw(); changed(); });
          li.appendChild(rm);
          list.appendChild(li);
        });
        item.wrap.dataset.files = String(files.length);
      }
      input.addEventListener('change', async function () {
        var chosen = Array.from(input.files || []);
        input.value = '';
        if (opts.preview || !opts.upload) {
          status.textContent = zh ? '预览：文件不会上传' : 'Preview: files are not uploaded';
          return;
        }
        item.error.hidden = true;
        for (var i = 0; i < chosen.length; i++) {
          var f = chosen[i];
          status.textContent = (zh ? '正在上传 ' : 'Uploading ') + f.name + '…';
          try {
            var ref = await opts.upload(f, qpath.join('/'));
            files.push({ id: ref.id, name: ref.name, media_type: ref.media_type, size: ref.size });
            draw();
            status.textContent = '';
          } catch (e) {
            status.textContent = '';
            item.error.textContent = f.name + ': ' + (e && e.message ? e.message : String(e));
            item.error.hidden = false;
          }
        }
        changed();
      });
      item.value = function () { return files.length ? files.slice() : undefined; };
      draw();
    }

    function buildGroup(item, pointer, qpath) {
      var q = item.q;
      var entriesEl = el('div', 'fq-entries');
      var add = el('button', 'secondary fq-add-entry', zh ? '添加一组' : 'Add an entry');
      add.type = 'button';
      item.wrap.appendChild(entriesEl);
      item.wrap.appendChild(add);
      var entries = [];
      function renumber() {
        entries.forEach(function (e, i) {
          e.legend.textContent = q.label[lang] + ' ' + (i + 1);
          e.fieldset.dataset.pointer = pointer + '/' + i;
          e.ctl.items.forEach(function (it) {
            var p = pointer + '/' + i + '/' + tok(it.q.id);
            it.wrap.dataset.pointer = p;
            it.pointer = p;
          });
        });
        add.disabled = q.max_items != null && entries.length >= q.max_items;
        item.wrap.dataset.entries = String(entries.length);
      }
      function addEntry() {
        var fs = el('fieldset', 'fq-entry');
        var legend = el('legend', null, '');
        fs.appendChild(legend);
        var e = { fieldset: fs, legend: legend };
        e.ctl = buildLevel(q.questions || [], pointer + '/' + entries.length, qpath, fs);
        var rm = el('button', 'secondary small fq-remove-entry', zh ? '删除此组' : 'Remove this entry');
        rm.type = 'button';
        rm.addEventListener('click', function () {
          var i = entries.indexOf(e);
          if (i >= 0) entries.splice(i, 1);
          fs.remove();
          e.ctl.items.forEach(function (it) { var k = fields.indexOf(it); if (k >= 0) fields.splice(k, 1); });
          renumber();
          changed();
        });
        fs.appendChild(rm);
        entriesEl.appendChild(fs);
        entries.push(e);
        renumber();
        e.ctl.refresh();
      }
      add.addEventListener('click', function () { addEntry(); changed(); });
      var initial = Math.max(q.min_items || 0, q.required ? 1 : 0);
      for (var i = 0; i < initial; i++) addEntry();
      item.value = function () { return entries.length ? entries.map(function (e) { return e.ctl.answers(); }) : undefined; };
      item.refresh = function () { entries.forEach(function (e) { e.ctl.refresh(); }); };
    }

    function clearProblems() {
      fields.forEach(function (f) {
        f.error.textContent = '';
        f.error.hidden = true;
        f.wrap.classList.remove('fq-invalid');
        if (f.input) f.input.removeAttribute('aria-invalid');
      });
    }

    /** Shows each problem at the question its pointer names (the longest matching prefix). */
    function showProblems(problems) {
      clearProblems();
      var unplaced = [];
      problems.forEach(function (p) {
        var best = null;
        fields.forEach(function (f) {
          if (f.wrap.hidden) return;
          var ptr = f.wrap.dataset.pointer;
          if ((p.pointer === ptr || p.pointer.indexOf(ptr + '/') === 0) && (!best || ptr.length > best.wrap.dataset.pointer.length)) best = f;
        });
        if (!best) { unplaced.push(p); return; }
        best.error.textContent = best.error.textContent ? best.error.textContent + '\n' + p.message : p.message;
        best.error.hidden = false;
        best.wrap.classList.add('fq-invalid');
        if (best.input) best.input.setAttribute('aria-invalid', 'true');
      });
      return unplaced;
    }

    /** The label path of the question at `pointer` (for a summary of problems). */
    function labelOf(pointer) {
      var best = null;
      fields.forEach(function (f) {
        var ptr = f.wrap.dataset.pointer;
        if ((pointer === ptr || pointer.indexOf(ptr + '/') === 0) && (!best || ptr.length > best.wrap.dataset.pointer.length)) best = f;
      });
      return best ? best.q.label[lang] : (pointer || (zh ? '表单' : 'form'));
    }

    function fieldAt(pointer) {
      return fields.filter(function (f) { return f.wrap.dataset.pointer === pointer; })[0] || null;
    }

    root.refresh();
    return {
      answers: function () { return root.answers(); },
      showProblems: showProblems,
      clearProblems: clearProblems,
      refresh: function () { root.refresh(); },
      labelOf: labelOf,
      fieldAt: fieldAt,
      maps: maps,
    };
  }

  window.onecityForms = {
    DIALECT: DIALECT,
    KNOWN_TYPES: KNOWN_TYPES,
    TYPE_NAMES: TYPE_NAMES,
    TYPES: TYPES,
    MAX_SIZE_LIMIT: MAX_SIZE_LIMIT,
    toSchema: toSchema,
    toUi: toUi,
    fromSchema: fromSchema,
    checkQuestions: checkQuestions,
    checkAnswers: checkAnswers,
    idCheckChar: idCheckChar,
    idNumberProblem: idNumberProblem,
    sameJson: sameJson,
    optionLabel: optionLabel,
    newQuestion: newQuestion,
    widgetName: widgetName,
    pointerToken: tok,
    pointerUntoken: untok,
    render: render,
  };
})();
