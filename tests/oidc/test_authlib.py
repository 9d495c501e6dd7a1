"""authlib (PyPI) against onecity's OpenID Connect provider.

A platform admin registers a client through onecity's API; authlib's OAuth2Session runs
the authorization code flow with PKCE S256; the browser's part (the sign-in form at
/oidc/authorize) is done with `requests`; the ID token is verified against the JWKS with
authlib's jose (signature, iss, aud, exp, nonce, at_hash); userinfo is called with the
access token, which also works on onecity's own API. A public client (no secret, PKCE
alone) and the refusal of a reused code are checked too.
"""

import json
import os
import urllib.request
from html.parser import HTMLParser

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, JsonWebToken
from authlib.oidc.core import CodeIDToken

URL = os.environ["ONECITY_URL"]
PASSWORD = os.environ["ONECITY_ADMIN_PASSWORD"]
REDIRECT = "http://127.0.0.1:9/callback"


def api(method, path, body=None, token=None):
    req = urllib.request.Request(URL + path, method=method, data=None if body is None else json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"null")


class FormReader(HTMLParser):
    """The sign-in form's action and its hidden fields."""

    def __init__(self):
        super().__init__()
        self.action, self.fields = None, {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.action = a.get("action")
        elif tag == "input" and a.get("type") == "hidden":
            self.fields[a["name"]] = a.get("value", "")


def browser_sign_in(authorize_url, username, password):
    """What a browser does: open the sign-in page, post the form, stop at the redirect."""
    browser = requests.Session()
    page = browser.get(authorize_url, allow_redirects=False)
    assert page.status_code == 200, page.text
    assert "登录" in page.text and "Sign in" in page.text
    form = FormReader()
    form.feed(page.text)
    assert form.action == "/oidc/authorize" and "csrf" in form.fields
    r = browser.post(URL + form.action, data={**form.fields, "username": username, "password": password},
                     allow_redirects=False)
    assert r.status_code == 303, r.text
    return r.headers["Location"]


def setup_module(_):
    global ADMIN, DISCOVERY
    ADMIN = api("POST", "/api/v1/auth/login", {"username": "admin", "password": PASSWORD})["token"]
    DISCOVERY = requests.get(URL + "/.well-known/openid-configuration").json()


def register(public=False):
    return api("POST", "/api/v1/oidc/clients",
               {"name": "城市应用 City app", "redirect_uris": [REDIRECT], "public": public}, ADMIN)


def verify_id_token(id_token, client_id, nonce, access_token):
    jwks = requests.get(DISCOVERY["jwks_uri"]).json()
    claims = JsonWebToken(["ES256"]).decode(
        id_token,
        JsonWebKey.import_key_set(jwks),
        claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": DISCOVERY["issuer"]}},
        claims_params={"nonce": nonce, "client_id": client_id, "access_token": access_token},
    )
    claims.validate()
    return claims


def test_code_flow_with_pkce_confidential_client():
    assert DISCOVERY["issuer"] == URL
    assert DISCOVERY["code_challenge_methods_supported"] == ["S256"]
    c = register()
    session = OAuth2Session(c["client_id"], c["client_secret"], scope="openid profile email",
                            redirect_uri=REDIRECT, code_challenge_method="S256")
    verifier, nonce = generate_token(64), generate_token(20)
    uri, state = session.create_authorization_url(DISCOVERY["authorization_endpoint"], code_verifier=verifier,
                                                  nonce=nonce)
    assert "code_challenge=" in uri
    location = browser_sign_in(uri, "admin", PASSWORD)
    assert location.startswith(REDIRECT + "?code=")
    token = session.fetch_token(DISCOVERY["token_endpoint"], authorization_response=location, code_verifier=verifier)
    assert token["token_type"] == "Bearer"
    claims = verify_id_token(token["id_token"], c["client_id"], nonce, token["access_token"])
    assert claims["aud"] == c["client_id"]
    assert claims["preferred_username"] == "admin"
    header = json.loads(JsonWebKey.import_key_set(requests.get(DISCOVERY["jwks_uri"]).json()).keys[0].as_json())
    assert header["crv"] == "P-256"

    info = session.get(DISCOVERY["userinfo_endpoint"]).json()
    assert info["sub"] == claims["sub"]
    assert info["preferred_username"] == "admin"
    # The access token is accepted by onecity's own API, verified against the key store.
    me = api("GET", "/api/v1/auth/me", token=token["access_token"])
    assert me["username"] == "admin" and me["id"] == claims["sub"]

    # The code cannot be used twice; its tokens are then revoked.
    code = dict(p.split("=", 1) for p in location.split("?", 1)[1].split("&"))["code"]
    again = requests.post(DISCOVERY["token_endpoint"], auth=(c["client_id"], c["client_secret"]),
                          data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                                "code_verifier": verifier})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert requests.get(DISCOVERY["userinfo_endpoint"],
                        headers={"Authorization": "Bearer " + token["access_token"]}).status_code == 401


def test_public_client_with_pkce_only():
    c = register(public=True)
    assert "client_secret" not in c
    session = OAuth2Session(c["client_id"], scope="openid profile", redirect_uri=REDIRECT,
                            code_challenge_method="S256", token_endpoint_auth_method="none")
    verifier, nonce = generate_token(48), generate_token(20)
    uri, _ = session.create_authorization_url(DISCOVERY["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
    location = browser_sign_in(uri, "admin", PASSWORD)
    token = session.fetch_token(DISCOVERY["token_endpoint"], authorization_response=location, code_verifier=verifier)
    claims = verify_id_token(token["id_token"], c["client_id"], nonce, token["access_token"])
    assert claims["name"] == "Administrator"
    assert "email" not in claims

    # Without the verifier the code is refused.
    uri, _ = session.create_authorization_url(DISCOVERY["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
    location = browser_sign_in(uri, "admin", PASSWORD)
    code = dict(p.split("=", 1) for p in location.split("?", 1)[1].split("&"))["code"]
    r = requests.post(DISCOVERY["token_endpoint"], data={"grant_type": "authorization_code", "code": code,
                                                         "redirect_uri": REDIRECT, "client_id": c["client_id"]})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
