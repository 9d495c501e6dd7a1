/* onecity citizen page: fill a form (填写表单), /citizen/forms/{key}?tenant=…. Loads the
 * latest version (GET /api/v1/tenants/{t}/services/forms/{key}), renders it with
 * forms_core.js at phone width, checks the answers in the browser with the server's own
 * messages, uploads materials (POST …/files?form=&question=, raw body, X-File-Name), and
 * submits (POST …/services/forms/{key}/submissions). When the server refuses, its
 * problems are shown at their questions and listed above the form. For tests:
 * window.citizenForm, body[data-form-ready|data-problem-count|data-submitted|
 * data-submission-id|data-problem-source]. */
(function () {
  'use strict';
  var oc = window.onecity;
  var F = window.onecityForms;
  var t = oc.t;
  var el = oc.el;
  var body = document.body;
  body.dataset.formReady = '0';
  if (!oc.requireToken()) return;

  function $(id) { return document.getElementById(id); }
  var pageError = $('page-error');
  var titleEl = $('form-title');
  var descEl = $('form-description');
  var problemsBox = $('form-problems-box');
  var problemsList = $('form-problems');
  var formEl = $('citizen-form');
  var holder = $('form-questions');
  var submitBtn = $('form-submit');
  var done = $('form-done');
  var TENANT_KEY = 'onecity.tenant';
  var key = decodeURIComponent(location.pathname.replace(/^\/citizen\/forms\//, '').replace(/\/$/, ''));
  var tenant = null;
  var form = null;
  var questions = [];
  var view = null;

  function savedTenant() {
    var q = new URLSearchParams(location.search).get('tenant');
    if (q) return q;
    try { return window.localStorage.getItem(TENANT_KEY) || ''; } catch (e) { return ''; }
  }

  /** The part of a bilingual "中文 / English" detail in the page's language. */
  function ourPart(text) {
    var s = String(text || '');
    var i = s.indexOf(' / ');
    if (i < 0) return s;
    return oc.lang === 'zh' ? s.slice(0, i) : s.slice(i + 3);
  }

  function base() { return '/api/v1/tenants/' + encodeURIComponent(tenant) + '/services/forms/' + encodeURIComponent(key); }

  async function upload(file, questionPath) {
    var res;
    try {
      res = await fetch('/api/v1/tenants/' + encodeURIComponent(tenant) + '/files?form=' + encodeURIComponent(key) +
        '&question=' + encodeURIComponent(questionPath), {
        method: 'POST',
        headers: {
          Authorization: 'Bearer ' + oc.getToken(),
          Accept: 'application/json',
          'Accept-Language': oc.lang,
          'Content-Type': file.type || 'application/octet-stream',
          'X-File-Name': encodeURIComponent(file.name),
        },
        body: file,
        credentials: 'same-origin',
      });
    } catch (e) {
      throw new Error(t('network_error'));
    }
    if (res.status === 401) { oc.clearToken(); oc.toLogin(); return new Promise(function () {}); }
    if (!res.ok) {
      var err = await oc.problemFrom(res);
      throw new Error(ourPart(err.message));
    }
    return res.json();
  }

  function showProblems(problems, source) {
    var unplaced = view.showProblems(problems);
    problemsList.textContent = '';
    problems.forEach(function (p) {
      var li = el('li', 'problem');
      li.dataset.pointer = p.pointer;
      var b = el('button', 'link', view.labelOf(p.pointer));
      b.type = 'button';
      b.addEventListener('click', function () {
        var f = view.fieldAt(p.pointer) || null;
        var target = f ? f.wrap : null;
        if (!target) {
          var all = holder.querySelectorAll('[data-pointer]');
          for (var i = 0; i < all.length; i++) if (p.pointer.indexOf(all[i].dataset.pointer) === 0) target = all[i];
        }
        if (target) {
          target.scrollIntoView({ block: 'center' });
          var input = target.querySelector('input, select, textarea');
          if (input) input.focus();
        }
      });
      li.appendChild(b);
      li.appendChild(document.createTextNode(': ' + p.message));
      problemsList.appendChild(li);
    });
    problemsBox.hidden = !problems.length;
    body.dataset.problemCount = String(problems.length);
    body.dataset.problemSource = source;
    body.dataset.unplaced = String(unplaced.length);
    if (problems.length) problemsBox.scrollIntoView({ block: 'start' });
  }

  /** Sends the answers to the server (which checks them again); shows its problems. */
  async function submitToServer(answers) {
    submitBtn.disabled = true;
    try {
      var s = await oc.api(base() + '/submissions', {
        method: 'POST',
        json: { answers: answers, version: form.version, lang: oc.lang },
      });
      view.clearProblems();
      problemsBox.hidden = true;
      formEl.hidden = true;
      done.hidden = false;
      $('form-done-text').textContent = t('cf_submitted').replace('{id}', s.id);
      body.dataset.submitted = '1';
      body.dataset.submissionId = s.id;
      done.scrollIntoView({ block: 'start' });
      return s;
    } catch (e) {
      if (e.problem && Array.isArray(e.problem.problems)) {
        showProblems(e.problem.problems, 'server');
      } else {
        oc.showError(pageError, e);
      }
      return null;
    } finally {
      submitBtn.disabled = false;
    }
  }

  formEl.addEventListener('submit', async function (event) {
    event.preventDefault();
    oc.showError(pageError, '');
    var answers = view.answers();
    var problems = F.checkAnswers(questions, answers, oc.lang);
    if (problems.length) { showProblems(problems, 'browser'); return; }
    await submitToServer(answers);
  });

  async function start() {
    tenant = savedTenant();
    if (!tenant) {
      var who = await oc.me();
      tenant = who && who.tenant;
    }
    if (!tenant) throw new Error(t('cf_no_tenant'));
    form = await oc.api(base());
    var read = F.fromSchema(form.schema, form.ui, oc.lang);
    if (read.problems.length) throw new Error(t('fd_not_designer_form'));
    questions = read.questions;
    titleEl.textContent = form.title[oc.lang];
    document.title = form.title[oc.lang] + ' · onecity';
    descEl.textContent = form.description ? form.description[oc.lang] : '';
    descEl.hidden = !form.description;
    view = F.render(holder, questions, {
      lang: oc.lang,
      tenant: tenant,
      formKey: key,
      upload: upload,
      onChange: function () { body.dataset.answers = String(Object.keys(view ? view.answers() : {}).length); },
    });
    formEl.hidden = false;
    body.dataset.formVersion = String(form.version);
    body.dataset.formReady = '1';
  }

  window.citizenForm = {
    answers: function () { return view ? view.answers() : null; },
    submitToServer: function () { return submitToServer(view.answers()); },
    pick: function (questionId, lat, lon) {
      var f = view.fieldAt('/' + questionId);
      if (f && f.pick) f.pick(lat, lon);
    },
    view: function () { return view; },
  };

  start().catch(function (e) {
    titleEl.textContent = t('cf_unavailable');
    oc.showError(pageError, e);
  });
})();
