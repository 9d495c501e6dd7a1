/* onecity service hall: the Q&A assistant (智能客服). Anonymous: asks
 * POST /api/v1/tenants/{tenant}/services/assistant and shows the guide sections it
 * returns (item, section, snippet, link to /hall/items/{code}), or the 12345 hand-off.
 * The tenant comes from `?tenant=`, else the one saved in localStorage, else `hangzhou`
 * (the demo city). `?q=` asks at once. For tests: body[data-assistant-state] is `ready`,
 * `asking`, `found`, `not-found` or `error`; answers are li.assistant-answer[data-code]. */
(function () {
  'use strict';
  var oc = window.onecity;
  var t = oc.t;
  var body = document.body;
  var TENANT_KEY = 'onecity.tenant';
  function $(id) { return document.getElementById(id); }
  var params = new URLSearchParams(location.search);

  function savedTenant() {
    var q = params.get('tenant');
    if (q) return q;
    try { return window.localStorage.getItem(TENANT_KEY) || 'hangzhou'; } catch (e) { return 'hangzhou'; }
  }

  function showTenant() {
    $('assistant-tenant-name').textContent = $('assistant-tenant').value;
  }

  function render(reply) {
    var box = $('assistant-reply');
    box.textContent = '';
    if (!reply.found) {
      var h = oc.el('div', 'assistant-handoff');
      // The server's message says what happened and whom to call; the label stands in
      // only when it sends none.
      h.appendChild(oc.el('p', 'assistant-handoff-title', reply.handoff && reply.handoff.message ? reply.handoff.message : t('assistant_not_found')));
      var call = oc.el('a', 'assistant-hotline', t('assistant_call') + ' ' + (reply.handoff ? reply.handoff.hotline : '12345'));
      call.href = 'tel:' + (reply.handoff ? reply.handoff.hotline : '12345');
      h.appendChild(call);
      box.appendChild(h);
      body.dataset.assistantState = 'not-found';
      return;
    }
    box.appendChild(oc.el('h2', null, t('assistant_answers')));
    var list = oc.el('ol', 'assistant-answers');
    reply.answers.forEach(function (a) {
      var li = oc.el('li', 'assistant-answer');
      li.dataset.code = a.code;
      li.dataset.section = a.section;
      var link = oc.el('a', 'assistant-guide', a.title);
      link.href = a.link;
      li.appendChild(link);
      li.appendChild(oc.el('div', 'muted assistant-meta', a.department + ' · ' + a.code));
      li.appendChild(oc.el('div', 'assistant-section', a.section_title));
      li.appendChild(oc.el('p', 'assistant-snippet', a.snippet));
      list.appendChild(li);
    });
    box.appendChild(list);
    body.dataset.assistantState = 'found';
  }

  async function ask(question) {
    var tenant = $('assistant-tenant').value.trim();
    oc.showError($('assistant-error'), '');
    if (!question.trim()) {
      oc.showError($('assistant-error'), t('assistant_empty'));
      return;
    }
    body.dataset.assistantState = 'asking';
    $('assistant-submit').disabled = true;
    try {
      var res = await fetch('/api/v1/tenants/' + encodeURIComponent(tenant) + '/services/assistant', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ question: question, lang: oc.lang }),
      });
      if (!res.ok) throw await oc.problemFrom(res);
      render(await res.json());
      try { window.localStorage.setItem(TENANT_KEY, tenant); } catch (e) { /* session only */ }
    } catch (err) {
      oc.showError($('assistant-error'), err instanceof TypeError ? t('network_error') : err);
      body.dataset.assistantState = 'error';
    } finally {
      $('assistant-submit').disabled = false;
    }
  }

  $('assistant-tenant').value = savedTenant();
  showTenant();
  $('assistant-tenant').addEventListener('input', showTenant);
  $('assistant-form').addEventListener('submit', function (e) {
    e.preventDefault();
    ask($('assistant-question').value);
  });
  $('assistant-question').addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      ask($('assistant-question').value);
    }
  });
  body.dataset.assistantState = 'ready';
  if (params.get('q')) {
    $('assistant-question').value = params.get('q');
    ask(params.get('q'));
  }
})();
