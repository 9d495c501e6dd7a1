"""The CKAN actions harvesters and upload scripts use beyond load/search/dump, each called
through the `ckanapi action` command (the CKAN project's client) against onecity:
organizations, groups and membership, resources (create/update/patch/delete), package_revise,
current_package_list_with_resources, user_show, tag_show, help_show, and datastore_create
with a `resource` dict. Asserts the values that come back and CKAN's error types.
"""

import csv
import json
import os
import subprocess

import ckanapi
from onecity_api import DATA, URL, admin_token, api


def setup():
    tok = admin_token()
    api("POST", "/api/v1/tenants", {"code": "cka", "name": "动作市", "name_en": "Action City", "root_code": "880200"}, tok)
    key = api("POST", "/api/v1/tenants/cka/keys", {
        "name": "harvester",
        "scopes": ["catalog:read", "catalog:write", "datastore:read", "datastore:write", "department:write", "user:read"],
        "rate_per_minute": 10000}, tok)
    return key["key"]


def action(name, *args, key=None, ok=True):
    """`ckanapi action NAME k=v k:json …`: the parsed result (exit 0) or the error text."""
    cmd = ["ckanapi", "action", name, *args, "-r", URL]
    if key:
        cmd += ["-a", key]
    r = subprocess.run(cmd, capture_output=True, timeout=120)
    if ok:
        assert r.returncode == 0, (name, args, r.stdout, r.stderr)
        return json.loads(r.stdout.decode())
    assert r.returncode != 0, (name, args, r.stdout)
    return (r.stdout + r.stderr).decode()


def test_ckan_actions_through_the_ckanapi_command():
    key = setup()

    # organizations: create (a department), show, rename; the name cannot change
    org = action("organization_create", "name=transport-bureau", "title=交通运输局", "title_en=Transport Bureau",
                 "description=kept nowhere", key=key)
    assert org["name"] == "transport-bureau" and org["title"] == "交通运输局" and org["is_organization"] is True
    assert org["tenant"] == "cka"
    shown = action("organization_show", "id=transport-bureau", key=key)
    assert shown["id"] == org["id"] and shown["title_en"] == "Transport Bureau"
    renamed = action("organization_update", "id=transport-bureau", "title=交通运输局（综合）", key=key)
    assert renamed["title"] == "交通运输局（综合）" and renamed["title_en"] == "Transport Bureau"
    err = action("organization_update", "id=transport-bureau", "name=other-name", key=key, ok=False)
    assert "ValidationError" in err and "cannot change" in err
    err = action("organization_create", "name=transport-bureau", key=key, ok=False)
    assert "ValidationError" in err and "already exists" in err
    err = action("organization_create", "name=Bad Name!", key=key, ok=False)
    assert "ValidationError" in err

    # a dataset in it, through ckanapi's Python API
    site = ckanapi.RemoteCKAN(URL, apikey=key)
    pkg = site.action.package_create(name="bus-stops", title="候车站点 Stops", owner_org="transport-bureau",
                                     private=False, tags=[{"name": "候车"}, {"name": "stops"}])
    assert pkg["resources"] == []

    # resources: create, update (replace), patch (merge), delete
    r1 = action("resource_create", "package_id=bus-stops", "url=https://data.example.cn/stops.csv", "name=站点表",
                "format=CSV", key=key)
    assert r1["package_id"] == pkg["id"] and r1["name"] == "站点表" and r1["format"] == "CSV" and r1["position"] == 0
    r2 = action("resource_create", "package_id=" + pkg["id"], "url=https://data.example.cn/stops.json", "name=JSON",
                key=key)
    assert r2["position"] == 1 and r2["id"] != r1["id"]
    up = action("resource_update", "id=" + r1["id"], "url=https://data.example.cn/stops-2026.csv", "name=站点表 2026",
                key=key)
    assert up["id"] == r1["id"] and up["url"].endswith("stops-2026.csv") and up["format"] == "", up
    pa = action("resource_patch", "id=" + r1["id"], "format=CSV", key=key)
    assert pa["format"] == "CSV" and pa["name"] == "站点表 2026" and pa["url"].endswith("stops-2026.csv")
    action("resource_delete", "id=" + r2["id"], key=key)
    now = site.action.package_show(id="bus-stops")
    assert [r["id"] for r in now["resources"]] == [r1["id"]]
    assert now["revision"] == 6  # create, two resource_create, update, patch, delete: one revision each
    err = action("resource_show", "id=" + r2["id"], key=key, ok=False)
    assert "NotFound" in err
    err = action("resource_create", "url=https://x.example/a.csv", key=key, ok=False)
    assert "ValidationError" in err and "package_id" in err
    err = action("resource_patch", "id=" + r1["id"], "colour=blue", key=key, ok=False)
    assert "ValidationError" in err and "colour" in err
    err = action("resource_create", "package_id=bus-stops", "url=https://x.example/a.csv", ok=False)
    assert "NotAuthorized" in err

    # package_revise: match, update, update__resources__<id prefix>, extend, filter, include
    rev = action("package_revise", 'match:{"name": "bus-stops"}', 'update:{"notes": "全市公交站点"}',
                 "update__resources__" + r1["id"][:13] + ':{"description": "每日更新"}',
                 'update__resources__extend:[{"name": "API", "url": "https://data.example.cn/api/stops", "format": "API"}]',
                 'include:["notes", "resources", "revision"]', key=key)["package"]
    assert sorted(rev) == ["notes", "resources", "revision"]
    assert rev["notes"] == "全市公交站点"
    assert rev["resources"][0]["description"] == "每日更新" and rev["resources"][1]["format"] == "API"
    rev = action("package_revise", 'match:{"id": "%s"}' % pkg["id"], 'filter:["-notes"]', key=key)["package"]
    assert rev["notes"] == ""
    err = action("package_revise", 'match:{"name": "bus-stops", "title": "wrong"}', 'update:{"notes": "x"}',
                 key=key, ok=False)
    assert "ValidationError" in err and "match" in err
    assert site.action.package_show(id="bus-stops")["notes"] == ""

    # groups: create, membership, show, list
    grp = action("group_create", "name=transport", "title=交通出行", "title_en=Transport", key=key)
    assert grp["name"] == "transport" and grp["package_count"] == 0 and grp["is_organization"] is False
    assert "transport" in action("group_list", key=key)
    m = action("member_create", "id=transport", "object=bus-stops", "object_type=package", "capacity=public", key=key)
    assert m["table_id"] == pkg["id"] and m["group_id"] == "transport"
    g = action("group_show", "id=transport", "include_datasets=true", key=key)
    assert g["package_count"] == 1 and [p["name"] for p in g["packages"]] == ["bus-stops"]
    assert site.action.package_show(id="bus-stops")["groups"][0]["name"] == "transport"
    # a revised groups list names the dataset's one group; an unknown group is refused
    err = action("package_revise", 'match:{"name": "bus-stops"}', 'update:{"groups": [{"name": "no-such-group"}]}',
                 key=key, ok=False)
    assert "ValidationError" in err and "no-such-group" in err
    rev = action("package_revise", 'match:{"name": "bus-stops"}', 'update:{"groups": []}', key=key)["package"]
    assert rev["groups"] == [] and rev["topic"] is None
    rev = action("package_revise", 'match:{"name": "bus-stops"}', 'update:{"groups": [{"name": "transport"}]}',
                 key=key)["package"]
    assert [g["name"] for g in rev["groups"]] == ["transport"]
    err = action("member_create", "id=transport", "object=admin", "object_type=user", key=key, ok=False)
    assert "ValidationError" in err
    err = action("group_show", "id=no-such-group", key=key, ok=False)
    assert "NotFound" in err

    # tags, users, help
    t = action("tag_show", "id=候车", "include_datasets=true", key=key)
    assert t["name"] == "候车" and [p["name"] for p in t["packages"]] == ["bus-stops"]
    assert "NotFound" in action("tag_show", "id=no-such-tag", key=key, ok=False)
    u = action("user_show", "id=admin", key=key, ok=False)
    assert "NotFound" in u  # the deployment admin is not a user of tenant cka
    tok = admin_token()
    me = api("GET", "/api/v1/auth/me", token=tok)
    shown = ckanapi.RemoteCKAN(URL, apikey=tok).action.user_show(id="admin")
    assert shown["id"] == me["id"] and shown["name"] == "admin" and shown["sysadmin"] is True
    h = action("help_show", "name=package_revise")
    assert "update__resources__extend" in h
    assert "NotFound" in action("help_show", "name=no_such_action", ok=False)

    # current_package_list_with_resources: most recently changed first, with resources
    site.action.package_create(name="taxi-ranks", title="出租车候客点", owner_org="transport-bureau", private=False)
    cur = action("current_package_list_with_resources", "limit=2")
    assert [p["name"] for p in cur] == ["taxi-ranks", "bus-stops"]
    assert len(cur[1]["resources"]) == 2
    assert [p["name"] for p in action("current_package_list_with_resources", "limit=1", "page=2")] == ["bus-stops"]

    # datastore_create with a resource dict creates the resource, then its table (real data:
    # NYC COVID-19 counts by ZIP code tabulation area)
    with open(os.path.join(DATA, "catalog", "nyc-covid", "data-by-modzcta.csv"), newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    made = site.action.datastore_create(resource={"package_id": "bus-stops", "name": "COVID by MODZCTA"},
                                        fields=[{"id": k} for k in rows[0]], records=rows)
    assert made["records_count"] == 177
    rid = made["resource_id"]
    res = site.action.resource_show(id=rid)
    assert res["name"] == "COVID by MODZCTA" and res["datastore_active"] is True and res["package_id"] == pkg["id"]
    r = site.action.datastore_search(resource_id=rid, filters={"MODIFIED_ZCTA": 10001})
    assert r["records"][0]["NEIGHBORHOOD_NAME"] == "Chelsea/NoMad/West Chelsea"
    # deleting the resource drops its table
    action("resource_delete", "id=" + rid, key=key)
    try:
        site.action.datastore_search(resource_id=rid)
        raise AssertionError("expected NotFound")
    except ckanapi.NotFound:
        pass

    # leave the shared server's public catalog as the other test expects it
    for name in ("bus-stops", "taxi-ranks"):
        site.action.package_delete(id=name)
    assert "bus-stops" not in site.action.package_list()
