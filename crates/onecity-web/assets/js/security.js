/* onecity console: security settings (安全设置). Second factors (TOTP with a QR code,
 * security keys, recovery codes) and the sign-in history. Works with an enrolment-only
 * token too (after a sign-in whose role requires a second factor): then only the
 * enrolment parts are shown, and confirming a first factor swaps in a full session. */
(function () {
  'use strict';
  var oc = window.onecity;
  var wa = window.onecityWebauthn;
  if (!oc.requireToken()) return;
  var $ = function (id) { return document.getElementById(id); };
  var error = $('security-error');
  var params = new URLSearchParams(location.search);
  var state = null;

  function fail(e) { oc.showError(error, e && e.message ? e.message : String(e)); }

  function showCodes(codes) {
    if (!codes || !codes.length) return;
    $('codes-list').textContent = codes.join('\n');
    $('codes-new').hidden = false;
  }

  /** After a first factor: keep the full session, show codes and the way on. */
  function confirmed(res) {
    showCodes(res.recovery_codes);
    if (res.token) {
      oc.setToken(res.token);
      var next = params.get('next') || '/console/map';
      if (next.charAt(0) !== '/' || next.charAt(1) === '/') next = '/console/map';
      $('security-continue').href = next;
      $('security-continue').hidden = false;
    }
    return load();
  }

  async function load() {
    oc.showError(error, '');
    state = await oc.api('/api/v1/auth/me/mfa');
    $('security-notice').hidden = !state.restricted;
    $('totp-state').textContent = state.totp ? oc.t('security_totp_on') : oc.t('security_totp_off');
    $('totp-start').hidden = state.totp;
    $('totp-disable').hidden = !state.totp || state.restricted;
    if (state.totp) $('totp-enrol').hidden = true;
    $('codes-state').textContent = oc.t('security_codes_left') + ': ' + state.recovery_codes_left;
    $('codes-regenerate').hidden = state.restricted || !(state.totp || state.webauthn.length);
    $('keys-off').hidden = state.webauthn_available && wa.available;
    $('key-add').hidden = !(state.webauthn_available && wa.available);
    var list = $('keys-list');
    list.textContent = '';
    state.webauthn.forEach(function (k) {
      var li = oc.el('li', 'key-item', k.name + ' · ' + k.created_at.slice(0, 10));
      if (!state.restricted) {
        var b = oc.el('button', 'secondary', oc.t('security_key_remove'));
        b.type = 'button';
        b.addEventListener('click', function () {
          oc.api('/api/v1/auth/me/webauthn/' + encodeURIComponent(k.id), { method: 'DELETE' })
            .then(load).catch(fail);
        });
        li.appendChild(document.createTextNode(' '));
        li.appendChild(b);
      }
      list.appendChild(li);
    });
    $('history-card').hidden = state.restricted;
    if (!state.restricted) await history();
  }

  async function history() {
    var rows = await oc.api('/api/v1/auth/me/sign-ins?limit=50');
    var tbody = $('history-table').querySelector('tbody');
    tbody.textContent = '';
    rows.forEach(function (r) {
      var tr = document.createElement('tr');
      [r.at.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC'), r.address || '—', r.method,
        r.success ? oc.t('security_history_ok') : oc.t('security_history_failed')]
        .forEach(function (v) { tr.appendChild(oc.el('td', null, v)); });
      if (!r.success) tr.className = 'failed';
      tbody.appendChild(tr);
    });
  }

  $('totp-start').addEventListener('click', function () {
    oc.api('/api/v1/auth/me/totp', { method: 'POST', json: {} }).then(function (e) {
      var svg = e.qr_svg;
      $('totp-qr').src = 'data:image/svg+xml;base64,' + btoa(unescape(encodeURIComponent(svg)));
      $('totp-secret').textContent = e.secret;
      $('totp-enrol').hidden = false;
      $('totp-code').focus();
    }).catch(fail);
  });

  $('totp-confirm').addEventListener('submit', function (event) {
    event.preventDefault();
    var code = $('totp-code').value.trim();
    oc.api('/api/v1/auth/me/totp/confirm', { method: 'POST', json: { code: code } })
      .then(confirmed).catch(fail);
  });

  $('totp-disable').addEventListener('submit', function (event) {
    event.preventDefault();
    var code = $('totp-disable-code').value.trim();
    oc.api('/api/v1/auth/me/totp/disable', { method: 'POST', json: { code: code } })
      .then(function () { $('totp-disable-code').value = ''; return load(); }).catch(fail);
  });

  $('codes-regenerate').addEventListener('click', function () {
    oc.api('/api/v1/auth/me/recovery-codes', { method: 'POST', json: {} })
      .then(function (r) { showCodes(r.recovery_codes); return load(); }).catch(fail);
  });

  $('key-add').addEventListener('submit', async function (event) {
    event.preventDefault();
    oc.showError(error, '');
    var button = $('key-add-button');
    button.disabled = true;
    try {
      var start = await oc.api('/api/v1/auth/me/webauthn/register', { method: 'POST', json: {} });
      var credential;
      try {
        credential = await wa.create(start.options);
      } catch (e) {
        oc.showError(error, oc.t('mfa_key_failed') + ' (' + (e && e.name || e) + ')');
        return;
      }
      var res = await oc.api('/api/v1/auth/me/webauthn/register/finish', {
        method: 'POST',
        json: { ceremony: start.ceremony, name: $('key-name').value.trim() || 'Security key', credential: credential },
      });
      await confirmed(res);
      document.body.dataset.keyRegistered = 'true';
    } catch (e) {
      fail(e);
    } finally {
      button.disabled = false;
    }
  });

  load().catch(fail);
})();
