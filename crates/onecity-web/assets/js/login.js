/* onecity console: login page. POST /api/v1/auth/login, keep the token, go to `next`. */
(function () {
  'use strict';
  var oc = window.onecity;
  var form = document.getElementById('login-form');
  var username = document.getElementById('username');
  var password = document.getElementById('password');
  var submit = document.getElementById('login-submit');
  var error = document.getElementById('login-error');

  /** The page to go to after login: a same-origin path from `?next=`, else the map. */
  function nextPath() {
    var next = new URLSearchParams(location.search).get('next') || '';
    var safe = next.charAt(0) === '/' && next.charAt(1) !== '/' && next.charAt(1) !== '\\' &&
      !/^\/login(?:[/?#]|$)/.test(next) && !/[\u0000-\u001f]/.test(next);
    return safe ? next : '/console/map';
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
      var res;
      try {
        res = await fetch('/api/v1/auth/login', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
          body: JSON.stringify(body),
          credentials: 'same-origin',
        });
      } catch (e) {
        oc.showError(error, oc.t('network_error'));
        return;
      }
      if (!res.ok) {
        var err = await oc.problemFrom(res);
        oc.showError(error, err.problem.detail || err.problem.title || oc.t('login_failed') + ' (HTTP ' + res.status + ')');
        password.select();
        return;
      }
      var data = await res.json().catch(function () { return null; });
      if (!data || typeof data.token !== 'string' || !data.token) {
        oc.showError(error, oc.t('login_failed'));
        return;
      }
      oc.setToken(data.token);
      location.replace(nextPath());
    } finally {
      submit.disabled = false;
    }
  });
})();
