"""ckanapi (the CKAN project's own client) against onecity's CKAN Action API.

Creates a tenant and a department through onecity's API, an app key with catalog scopes,
then uses the `ckanapi` command line as a CKAN site administrator would: `load` datasets
from JSON lines (sent with the key as the bare Authorization value), `search`, `dump`,
and `load` again to update. Asserts the values that come back.
"""

import csv
import json
import os
import subprocess

import ckanapi
from onecity_api import DATA, URL, admin_token, api

TMP = os.environ["ONECITY_CKAN_TMP"]


def setup_key():
    tok = admin_token()
    api("POST", "/api/v1/tenants", {"code": "ckt", "name": "测试市", "name_en": "Test City", "root_code": "880100"}, tok)
    root = api("GET", "/api/v1/tenants/ckt", token=tok)["root_jurisdiction_id"]
    api("POST", "/api/v1/tenants/ckt/departments", {"jurisdiction_id": root, "code": "DATA-OFFICE", "name": "数据资源局", "name_en": "Data Office"}, tok)
    key = api("POST", "/api/v1/tenants/ckt/keys", {"name": "ckanapi", "scopes": ["catalog:read", "catalog:write", "datastore:read", "datastore:write"], "rate_per_minute": 10000}, tok)
    return key["key"]


def ckan_cli(*args, stdin=None):
    r = subprocess.run(["ckanapi", *args, "-r", URL], input=stdin, capture_output=True, timeout=120)
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r.stdout.decode()


def load(path, key):
    """`ckanapi load datasets`; returns (action, error, name) per record from its log."""
    log = path + ".log"
    ckan_cli("load", "datasets", "-I", path, "-a", key, "-l", log)
    with open(log, encoding="utf-8") as f:
        return [(r[2], r[3], r[4]) for r in map(json.loads, f)]


def test_load_search_dump_update():
    key = setup_key()
    records = [
        {"name": "bus-routes", "title": "公交线路 Bus routes", "owner_org": "data-office", "notes": "全市公交线路",
         "tags": [{"name": "公交"}, {"name": "Ålesund"}], "license_id": "cc-by-4.0", "private": False,
         "resources": [{"name": "线路表", "url": "https://data.example.cn/bus.csv", "format": "CSV"}],
         "extras": [{"key": "domain", "value": "S"}, {"key": "update_frequency", "value": "monthly"}]},
        {"name": "river-levels", "title": "河道水位 River levels", "owner_org": "data-office",
         "tags": [{"name": "水位"}], "private": False, "grade": "important", "domain": "G", "open_level": "conditional",
         "resources": [{"name": "API", "url": "https://data.example.cn/api/levels", "format": "API"}]},
    ]
    src = os.path.join(TMP, "in.jsonl")
    with open(src, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    assert load(src, key) == [("create", None, "bus-routes"), ("create", None, "river-levels")]

    # search through the ckanapi command (package_search)
    found = ckan_cli("search", "datasets", "q=公交")
    hits = [json.loads(x) for x in found.splitlines() if x.strip()]
    assert [h["name"] for h in hits] == ["bus-routes"]
    assert hits[0]["organization"]["name"] == "data-office"
    assert hits[0]["domain"] == "S" and hits[0]["update_frequency"] == "monthly"
    hits = [json.loads(x) for x in ckan_cli("search", "datasets", "fq=tags:Ålesund").splitlines() if x.strip()]
    assert [h["name"] for h in hits] == ["bus-routes"]

    # dump everything
    dump = os.path.join(TMP, "dump.jsonl")
    ckan_cli("dump", "datasets", "--all", "-O", dump)
    with open(dump, encoding="utf-8") as f:
        dumped = {d["name"]: d for d in map(json.loads, f)}
    assert sorted(dumped) == ["bus-routes", "river-levels"]
    bus = dumped["bus-routes"]
    assert bus["title"] == "公交线路 Bus routes"
    assert sorted(t["name"] for t in bus["tags"]) == ["Ålesund", "公交"]
    assert bus["resources"][0]["url"] == "https://data.example.cn/bus.csv"
    assert bus["resources"][0]["format"] == "CSV"
    assert bus["license_id"] == "cc-by-4.0"
    assert dumped["river-levels"]["grade"] == "important"
    assert dumped["river-levels"]["open_level"] == "conditional"

    # change the dump and load it back: updates in place, keeping ids
    bus["title"] = "公交线路（2026）"
    with open(dump, "w", encoding="utf-8") as f:
        for d in dumped.values():
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    assert sorted(load(dump, key)) == [("update", None, "bus-routes"), ("update", None, "river-levels")]
    site = ckanapi.RemoteCKAN(URL, apikey=key)
    again = site.action.package_show(id="bus-routes")
    assert again["id"] == bus["id"]
    assert again["title"] == "公交线路（2026）"
    assert again["resources"][0]["id"] == bus["resources"][0]["id"]
    assert again["revision"] == 2

    # errors come back as ckanapi's own exceptions
    try:
        site.action.package_show(id="no-such-dataset")
        raise AssertionError("expected NotFound")
    except ckanapi.NotFound:
        pass
    try:
        site.action.package_search(q="x", offset=10)
        raise AssertionError("expected ValidationError")
    except ckanapi.ValidationError as e:
        assert "offset" in e.error_dict
    anon = ckanapi.RemoteCKAN(URL)
    try:
        anon.action.package_create(name="nope", title="nope", owner_org="data-office")
        raise AssertionError("expected NotAuthorized")
    except ckanapi.NotAuthorized:
        pass

    # The datastore through ckanapi (it posts to /api/action/<name>): a real table, the NYC
    # COVID-19 counts by ZIP code tabulation area, on the dataset's resource.
    with open(os.path.join(DATA, "catalog", "nyc-covid", "data-by-modzcta.csv"), newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 177
    rid = again["resources"][0]["id"]
    made = site.action.datastore_create(resource_id=rid, fields=[{"id": k} for k in rows[0]], records=rows)
    assert made["records_count"] == 177
    r = site.action.datastore_search(resource_id=rid, filters={"MODIFIED_ZCTA": 10001})
    assert r["total"] == 1, r
    assert r["records"][0]["NEIGHBORHOOD_NAME"] == "Chelsea/NoMad/West Chelsea"
    assert r["records"][0]["COVID_CASE_COUNT"] == 12391
    r = site.action.datastore_search(resource_id=rid, q="Chinatown", fields=["MODIFIED_ZCTA", "BOROUGH_GROUP"])
    assert sorted(x["MODIFIED_ZCTA"] for x in r["records"]) == [10002, 10038], r
    assert all(x["BOROUGH_GROUP"] == "Manhattan" and "NEIGHBORHOOD_NAME" not in x for x in r["records"])
    try:
        site.action.datastore_create(resource_id="not-a-catalog-resource", records=rows[:1])
        raise AssertionError("expected ValidationError")
    except ckanapi.ValidationError:
        pass
