/* onecity console: WebAuthn helpers. The server (webauthn-rs) sends options with binary
 * fields as base64url strings and expects the credential back the same way. */
(function () {
  'use strict';

  function fromB64u(s) {
    var b64 = String(s).replace(/-/g, '+').replace(/_/g, '/');
    while (b64.length % 4) b64 += '=';
    var bin = atob(b64);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toB64u(buf) {
    var bytes = new Uint8Array(buf);
    var bin = '';
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function creds(list) {
    return (list || []).map(function (c) {
      var o = { type: c.type, id: fromB64u(c.id) };
      if (c.transports) o.transports = c.transports;
      return o;
    });
  }

  /** Registers a key: `options` is the server's CreationChallengeResponse. */
  async function create(options) {
    var pk = Object.assign({}, options.publicKey);
    pk.challenge = fromB64u(pk.challenge);
    pk.user = Object.assign({}, pk.user, { id: fromB64u(pk.user.id) });
    if (pk.excludeCredentials) pk.excludeCredentials = creds(pk.excludeCredentials);
    delete pk.hints;
    delete pk.attestationFormats;
    var cred = await navigator.credentials.create({ publicKey: pk });
    return {
      id: cred.id,
      rawId: toB64u(cred.rawId),
      type: cred.type,
      response: {
        attestationObject: toB64u(cred.response.attestationObject),
        clientDataJSON: toB64u(cred.response.clientDataJSON),
      },
      extensions: {},
    };
  }

  /** Signs a challenge: `options` is the server's RequestChallengeResponse. */
  async function get(options) {
    var pk = Object.assign({}, options.publicKey);
    pk.challenge = fromB64u(pk.challenge);
    if (pk.allowCredentials) pk.allowCredentials = creds(pk.allowCredentials);
    delete pk.hints;
    var cred = await navigator.credentials.get({ publicKey: pk });
    var r = cred.response;
    return {
      id: cred.id,
      rawId: toB64u(cred.rawId),
      type: cred.type,
      response: {
        authenticatorData: toB64u(r.authenticatorData),
        clientDataJSON: toB64u(r.clientDataJSON),
        signature: toB64u(r.signature),
        userHandle: r.userHandle ? toB64u(r.userHandle) : null,
      },
      extensions: {},
    };
  }

  window.onecityWebauthn = {
    available: !!(window.PublicKeyCredential && navigator.credentials),
    create: create,
    get: get,
  };
})();
