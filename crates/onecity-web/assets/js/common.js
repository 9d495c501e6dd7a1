/* onecity console: shared helpers for every page (labels, token, API calls, tenant
 * switcher, logout). No framework, no build step. Exposes `window.onecity`. */
(function () {
  'use strict';

  var TOKEN_KEY = 'onecity.token';
  var TENANT_KEY = 'onecity.tenant';
  var body = document.body;
  var lang = body.dataset.lang === 'zh' ? 'zh' : 'en';
  var labels = {};
  try { labels = JSON.parse(body.dataset.i18n || '{}'); } catch (e) { labels = {}; }

  /** The UI label for `key` in the page's language. */
  function t(key) { return Object.prototype.hasOwnProperty.call(labels, key) ? labels[key] : key; }

  function load(key) { try { return window.localStorage.getItem(key); } catch (e) { return null; } }
  function save(key, value) {
    try {
      if (value === null || value === undefined) window.localStorage.removeItem(key);
      else window.localStorage.setItem(key, value);
    } catch (e) { /* storage disabled: the session lasts as long as the page */ }
  }

  function getToken() { return load(TOKEN_KEY); }
  function setToken(token) { save(TOKEN_KEY, token); }
  function clearToken() { save(TOKEN_KEY, null); }

  /** Sends the browser to the login page, coming back here afterwards. */
  function toLogin() {
    var here = location.pathname + location.search + location.hash;
    location.replace('/login?next=' + encodeURIComponent(here));
  }

  /** On console pages: true when a token exists, else goes to the login page. */
  function requireToken() {
    if (getToken()) return true;
    toLogin();
    return false;
  }

  var never = function () { return new Promise(function () {}); };

  /** An error from the API, carrying the RFC 9457 problem when there is one. */
  class ApiError extends Error {
    constructor(status, problem) {
      var p = problem || {};
      super(p.detail || p.title || (t('request_failed') + (status ? ' (HTTP ' + status + ')' : '')));
      this.name = 'ApiError';
      this.status = status;
      this.problem = p;
      this.code = p.code || null;
    }
  }

  /** Reads a failed response into an ApiError (problem JSON when present). */
  async function problemFrom(res) {
    var problem = null;
    try {
      var text = await res.text();
      if (text) problem = JSON.parse(text);
    } catch (e) { problem = null; }
    if (!problem || typeof problem !== 'object') problem = {};
    return new ApiError(res.status, problem);
  }

  /**
   * Calls the JSON API with the bearer token. `opts`: {method, json, accept}.
   * Resolves to the parsed body (null for 204); rejects with ApiError. A missing token
   * or a 401 answer clears the token and goes to the login page (the promise then
   * never settles).
   */
  async function api(path, opts) {
    opts = opts || {};
    var token = getToken();
    if (!token) { toLogin(); return never(); }
    var headers = { Accept: opts.accept || 'application/json', Authorization: 'Bearer ' + token };
    var init = { method: opts.method || 'GET', headers: headers, credentials: 'same-origin' };
    if (opts.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(opts.json);
    }
    var res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, { detail: t('network_error') });
    }
    if (res.status === 401) { clearToken(); toLogin(); return never(); }
    if (!res.ok) throw await problemFrom(res);
    if (res.status === 204) return null;
    try {
      return await res.json();
    } catch (e) {
      throw new ApiError(res.status, { detail: t('request_failed') + ' (invalid JSON)' });
    }
  }

  /** `path` with `cursor` added as a query parameter. */
  function withCursor(path, cursor) {
    if (!cursor) return path;
    return path + (path.indexOf('?') >= 0 ? '&' : '?') + 'cursor=' + encodeURIComponent(cursor);
  }

  /** One page of a list endpoint: {items, next_cursor}. */
  async function listPage(path, cursor) {
    var page = await api(withCursor(path, cursor));
    return { items: (page && page.items) || [], next_cursor: (page && page.next_cursor) || null };
  }

  /** Every item of a list endpoint, following `next_cursor` (at most `maxPages`). */
  async function listAll(path, maxPages) {
    var items = [];
    var cursor = null;
    for (var i = 0; i < (maxPages || 50); i++) {
      var page = await listPage(path, cursor);
      items = items.concat(page.items);
      cursor = page.next_cursor;
      if (!cursor) break;
    }
    return items;
  }

  /** The display name of a thing with `name` and optional `name_en`. */
  function localName(x) {
    if (!x) return '';
    if (lang === 'en' && x.name_en) return x.name_en;
    return x.name || x.name_en || x.code || '';
  }

  /** The name in the page's language, followed by the other name when it differs. */
  function bothNames(x) {
    if (!x) return '';
    var first = localName(x);
    var other = lang === 'en' ? x.name : x.name_en;
    return other && other !== first ? first + ' ' + other : first;
  }

  /** Shows `message` (string or Error) in `el`, or hides `el` when empty. */
  function showError(el, message) {
    if (!el) return;
    var text = message instanceof Error ? message.message : (message || '');
    el.textContent = text;
    el.hidden = !text;
  }

  /** Creates an element with a class and text. */
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  var mePromise = null;

  /** The signed-in principal (GET /api/v1/auth/me), fetched once per page. */
  function me() {
    if (!mePromise) {
      mePromise = api('/api/v1/auth/me');
      mePromise.catch(function () { mePromise = null; });
    }
    return mePromise;
  }

  /**
   * The tenants to offer: GET /api/v1/tenants, or, for a caller who may not list them
   * (403, e.g. staff holding only workflow roles), their home tenant.
   */
  async function tenantItems() {
    try {
      return await listAll('/api/v1/tenants');
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 403) throw err;
      var who = await me();
      return who && who.tenant ? [{ code: who.tenant }] : [];
    }
  }

  /**
   * Fills the tenant switcher (see `tenantItems`) and calls `onChange(code)` for
   * the selected tenant (the one saved in localStorage, else the first) and on each
   * change. Resolves to the selected code, or null when there is none.
   */
  async function initTenants(onChange) {
    var select = document.getElementById('tenant-switcher');
    var items = await tenantItems();
    select.textContent = '';
    if (!items.length) {
      select.appendChild(el('option', null, t('no_tenants')));
      return null;
    }
    items.forEach(function (item) {
      var name = localName(item);
      var option = el('option', null, name && name !== item.code ? name + ' (' + item.code + ')' : item.code);
      option.value = item.code;
      select.appendChild(option);
    });
    var current = load(TENANT_KEY);
    if (!items.some(function (item) { return item.code === current; })) current = items[0].code;
    select.value = current;
    select.disabled = false;
    select.addEventListener('change', function () {
      save(TENANT_KEY, select.value);
      onChange(select.value);
    });
    onChange(current);
    return current;
  }

  var logout = document.getElementById('logout');
  if (logout) {
    logout.addEventListener('click', function () {
      clearToken();
      location.assign('/login');
    });
  }

  window.onecity = {
    lang: lang,
    t: t,
    getToken: getToken,
    setToken: setToken,
    clearToken: clearToken,
    requireToken: requireToken,
    toLogin: toLogin,
    api: api,
    problemFrom: problemFrom,
    ApiError: ApiError,
    withCursor: withCursor,
    listPage: listPage,
    listAll: listAll,
    localName: localName,
    bothNames: bothNames,
    showError: showError,
    el: el,
    initTenants: initTenants,
    me: me,
  };
})();
