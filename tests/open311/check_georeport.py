"""Open311 GeoReport v2 conformance check of a running onecity server.

Uses the `georeport` client from PyPI (GETs in JSON and XML) and validates every answer
with `jsonschema` against our own JSON Schemas of the GeoReport v2 service, service
definition and request (tests/open311/schemas, written from the GeoReport v2 spec's field
lists; the real Bloomington fixtures in ../shared/data/requests311 pass them too).

    python3 tests/open311/check_georeport.py BASE_URL JURISDICTION SCHEMA_DIR

Exits non-zero with a message on the first failure; prints a summary line on success.
Run by crates/onecity/tests/api/governance.rs against the demo NYC tenant.
"""

import json
import pathlib
import sys

import jsonschema
import requests
from georeport import GeoReport


def main() -> None:
    base, jurisdiction, schema_dir = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
    schema = {n: json.loads((schema_dir / f"{n}.json").read_text()) for n in ("request", "service", "service-definition")}
    checked = 0

    def valid(kind: str, doc) -> None:
        nonlocal checked
        jsonschema.Draft4Validator(schema[kind], format_checker=jsonschema.FormatChecker()).validate(doc)
        checked += 1

    root = f"{base}/open311/v2"
    client = GeoReport(root, jurisdiction=jurisdiction)
    services = client.get_service_list()
    assert len(services) > 40, len(services)
    for s in services:
        valid("service", s)
    definition = client.get_service_definition("pothole")
    valid("service-definition", definition)
    march = client.get_service_requests(start_date="2011-03-01T05:00:00Z", end_date="2011-04-01T04:00:00Z")
    assert len(march) == 998, len(march)
    for r in march:
        valid("request", r)
    one = client.get_service_request("19937896")
    valid("request", one)
    assert one["requested_datetime"] == "2011-03-01T14:27:57-05:00", one
    xml_client = GeoReport(root, jurisdiction=jurisdiction, output_format="xml")
    pair = xml_client.get_service_requests(service_request_id="19937896,19937901")
    ids = sorted(r["service_request_id"] for r in pair)
    assert ids == ["19937896", "19937901"], ids
    # The standard error list for a bad date.
    bad = requests.get(f"{root}/requests.json", params={"jurisdiction_id": jurisdiction, "start_date": "2011-02-30"}, timeout=30)
    assert bad.status_code == 400, bad.status_code
    errors = bad.json()
    assert isinstance(errors, list) and errors[0]["code"] == 400 and errors[0]["description"], errors
    print(f"georeport client: ok, {checked} documents valid against the GeoReport v2 schemas")


if __name__ == "__main__":
    main()
