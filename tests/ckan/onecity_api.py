"""What the ckanapi tests share: the server's address, the real data folder, onecity's own
JSON API (tenants, keys) and an admin login."""

import json
import os
import urllib.request

URL = os.environ["ONECITY_URL"]
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "data")


def api(method, path, body=None, token=None):
    """One call to onecity's /api/v1 (JSON in and out); raises on an HTTP error."""
    req = urllib.request.Request(URL + path, method=method, data=None if body is None else json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"null")


def admin_token():
    """A session token of the deployment admin (password from ONECITY_ADMIN_PASSWORD)."""
    return api("POST", "/api/v1/auth/login", {"username": "admin", "password": os.environ["ONECITY_ADMIN_PASSWORD"]})["token"]
