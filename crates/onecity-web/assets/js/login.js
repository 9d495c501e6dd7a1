/* onecity console: login page. POST /api/v1/auth/login; then, when the account has a
 * second factor, POST /api/v1/auth/login/mfa with a code or a security key; keep the
 * token and go to `next`. An account whose role requires a second factor and has none
 * gets an enrolment-only token and goes to the security page. */
(function () {
  'use strict';
  var oc = window.onecity;
  var wa = window.onecityWebauthn;
  var form = document.getElementById('login-form');
  var username = document.getElementById('username');
  var password = document.getElementById('password');
  var submit = document.getElementById('login-submit');
  var error = document.getElementById('login-error');
  var mfaForm = document.getElementById('mfa-form');
  var mfaCode = document.getElementById('mfa-code');
  var mfaSubmit = document.getElementById('mfa-submit');
  var mfaKey = document.getElementById('mfa-webauthn');
  var mfaError = document.getElementById('mfa-error');
  var challenge = null;

  /** The page to go to after login: a same-origin path from `?next=`, else the map. */
  function nextPath() {
    var next = new URLSearchParams(location.search).get('next') || '';
    var safe = next.charAt(0) === '/' && next.charAt(1) !== '/' && next.charAt(1) !== '\\' &&
      !/^\/login(?:[/?#]|$)/.test(next) && !/[\u0000-\u001f]/.test(next);
    return safe ? next : '/console/map';
  }

  /** POSTs JSON without a token; resolves to {ok, data} or shows the problem in `where`. */
  async function post(path, body, where) {
    var res;
    try {
      res = await fetch(path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(body),
        credentials: 'same-origin',
      });
    } catch (e) {
      oc.showError(where, oc.t('network_error'));
      return null;
    }
    if (!res.ok) {
      var err = await oc.problemFrom(res);
      oc.showError(where, err.problem.detail || err.problem.title || oc.t('login_failed') + ' (HTTP ' + res.status + ')');
      return null;
    }
    return await res.json().catch(function () { return null; });
  }

  function finish(data, where) {
    if (!data || typeof data.token !== 'string' || !data.token) {
      oc.showError(where, oc.t('login_failed'));
      return;
    }
    oc.setToken(data.token);
    location.replace(nextPath());
  }
  // Single sign-on: the callback comes back as /login#sso_token=…; keep it and go on.
  function takeSsoToken() {
    var hash = location.hash || '';
    if (hash.indexOf('#sso_token=') !== 0) return false;
    var ssoToken = decodeURIComponent(hash.slice('#sso_token='.length));
    history.replaceState(null, '', location.pathname + location.search);
    if (!ssoToken) return false;
    oc.setToken(ssoToken);
    location.replace(nextPath());
    return true;
  }
  if (takeSsoToken()) return;
  window.addEventListener('hashchange', takeSsoToken);
  // Show the SSO button when the server has a provider configured.
  fetch('/auth/oidc/config', { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
    .then(function (res) { return res.ok ? res.json() : null; })
    .then(function (cfg) {
      if (cfg && cfg.enabled) {
        var box = document.getElementById('sso-box');
        if (box) box.hidden = false;
      }
    })
    .catch(function () { /* no SSO button */ });

  form.addEventListener('submit', async function (event) {
    event.preventDefault();
    oc.showError(error, '');
    var body = { username: username.value.trim(), password: password.value };
    if (!body.username || !body.password) {
      oc.showError(error, oc.t('login_missing'));
      return;
    }
    submit.disabled = true;
    try {
      var data = await post('/api/v1/auth/login', body, error);
      if (!data) { password.select(); return; }
      if (data.step === 'mfa_required') {
        challenge = data.challenge;
        form.hidden = true;
        mfaForm.hidden = false;
        mfaKey.hidden = !(wa && wa.available && (data.methods || []).indexOf('webauthn') >= 0);
        mfaCode.focus();
        return;
      }
      if (data.step === 'mfa_enrolment_required') {
        oc.setToken(data.enrolment_token);
        location.replace('/console/security?enrol=1&next=' + encodeURIComponent(nextPath()));
        return;
      }
      finish(data, error);
    } finally {
      submit.disabled = false;
    }
  });

  mfaForm.addEventListener('submit', async function (event) {
    event.preventDefault();
    oc.showError(mfaError, '');
    var code = mfaCode.value.trim();
    if (!code) { oc.showError(mfaError, oc.t('mfa_code_missing')); return; }
    mfaSubmit.disabled = true;
    try {
      var data = await post('/api/v1/auth/login/mfa', { challenge: challenge, code: code }, mfaError);
      if (data) finish(data, mfaError);
      else mfaCode.select();
    } finally {
      mfaSubmit.disabled = false;
    }
  });

  mfaKey.addEventListener('click', async function () {
    oc.showError(mfaError, '');
    mfaKey.disabled = true;
    try {
      var start = await post('/api/v1/auth/login/mfa/webauthn', { challenge: challenge }, mfaError);
      if (!start) return;
      var assertion;
      try {
        assertion = await wa.get(start.options);
      } catch (e) {
        oc.showError(mfaError, oc.t('mfa_key_failed') + ' (' + (e && e.name || e) + ')');
        return;
      }
      var data = await post('/api/v1/auth/login/mfa', { challenge: challenge, webauthn: assertion }, mfaError);
      if (data) finish(data, mfaError);
    } finally {
      mfaKey.disabled = false;
    }
  });
})();
