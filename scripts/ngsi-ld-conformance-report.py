#!/usr/bin/env python3
"""Summarises ETSI NGSI-LD conformance runs from Robot Framework output.xml files.

Usage:
    ngsi-ld-conformance-report.py [--failures FILE] LABEL=OUTPUT_XML [LABEL=OUTPUT_XML ...]

Each LABEL is a folder of the suite (e.g. ContextInformation/Consumption) and OUTPUT_XML
the output.xml of the robot run over that folder. Prints one line per folder,
"LABEL  passed/total  (skipped N)", then the total. With --failures, writes every failing
(or skipped) test case as one tab-separated line:

    folder <TAB> status <TAB> test id and name <TAB> spec clauses <TAB> robot file <TAB> first error

(the spec clauses of ETSI GS CIM 009 come from the suite's tags: tag 5_6_1 is clause 5.6.1)

(header line first, the message on one line, whitespace collapsed, at most 500
characters). With --causes N, also prints the N most common first errors with ids, numbers
and quoted values blanked out, a first cut at grouping failures by cause. Used by
scripts/ngsi-ld-conformance.sh; stdlib only.
"""
import argparse
import os
import re
import sys
import xml.etree.ElementTree as ET


def first_message(test):
    """The test's own status message, else the first FAIL message inside it."""
    status = test.find("status")
    msg = (status.text or "").strip() if status is not None else ""
    if not msg:
        for msg_el in test.iter("msg"):
            if msg_el.get("level") == "FAIL" and (msg_el.text or "").strip():
                msg = msg_el.text.strip()
                break
    msg = re.sub(r"\s+", " ", msg)
    return msg[:500]


def normalise(msg):
    """A failure message with its varying parts (ids, numbers, quoted values) blanked."""
    msg = re.sub(r"urn:[^\s'\",}\]]+", "<urn>", msg)
    msg = re.sub(r"'[^']*'", "'…'", msg)
    msg = re.sub(r'"[^"]*"', '"…"', msg)
    msg = re.sub(r"\b\d{4,}\b|\b\d+\.\d+\b", "N", msg)
    return msg[:200]


def clauses(test):
    """The spec clauses a test case is tagged with (tag 5_6_1 -> 5.6.1)."""
    tags = [t.text or "" for t in test.iter("tag")]
    return " ".join(t.replace("_", ".") for t in tags if re.fullmatch(r"\d+(_\d+)+", t))


def tests_of(path):
    """Yields (status, name, clauses, source, message) for every test in an output.xml."""
    root = ET.parse(path).getroot()

    def walk(suite, source):
        source = suite.get("source") or source
        for child in suite:
            if child.tag == "suite":
                yield from walk(child, source)
            elif child.tag == "test":
                status = child.find("status")
                yield (
                    status.get("status") if status is not None else "FAIL",
                    child.get("name", "?"),
                    clauses(child),
                    source or "?",
                    first_message(child),
                )

    for suite in root.findall("suite"):
        yield from walk(suite, None)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--failures", help="write the failing test cases here (TSV)")
    ap.add_argument("--causes", type=int, default=0, metavar="N",
                    help="print the N most common (normalised) first errors")
    ap.add_argument("--suite-dir", help="shorten robot file paths relative to this folder")
    ap.add_argument("runs", nargs="+", metavar="LABEL=OUTPUT_XML")
    args = ap.parse_args()

    rows = []
    tot_pass = tot_all = tot_skip = 0
    width = max([5] + [len(r.split("=", 1)[0]) for r in args.runs])
    for run in args.runs:
        label, _, path = run.partition("=")
        if not os.path.isfile(path):
            print(f"{label:<{width}}  no output.xml ({path})")
            continue
        passed = total = skipped = 0
        for status, name, clause, source, msg in tests_of(path):
            total += 1
            if status == "PASS":
                passed += 1
                continue
            if status == "SKIP":
                skipped += 1
            if args.suite_dir:
                source = os.path.relpath(source, args.suite_dir)
            rows.append((label, status, name, clause, source, msg))
        pct = f"{100.0 * passed / total:5.1f}%" if total else "  n/a"
        extra = f"  (skipped {skipped})" if skipped else ""
        print(f"{label:<{width}}  {passed:4d}/{total:<4d} {pct}{extra}")
        tot_pass, tot_all, tot_skip = tot_pass + passed, tot_all + total, tot_skip + skipped
    pct = f"{100.0 * tot_pass / tot_all:5.1f}%" if tot_all else "  n/a"
    extra = f"  (skipped {tot_skip})" if tot_skip else ""
    print(f"{'total':<{width}}  {tot_pass:4d}/{tot_all:<4d} {pct}{extra}")

    if args.causes and rows:
        counts = {}
        for row in rows:
            key = normalise(row[5])
            counts.setdefault(key, []).append(row[2].split(" ", 1)[0])
        print(f"\nmost common first errors ({len(counts)} distinct):")
        for key, tests in sorted(counts.items(), key=lambda kv: -len(kv[1]))[: args.causes]:
            print(f"{len(tests):5d}  {key[:160]}")
            print(f"       e.g. {', '.join(tests[:8])}")

    if args.failures:
        with open(args.failures, "w", encoding="utf-8") as f:
            f.write("folder\tstatus\ttest\tclauses\trobot_file\tfirst_error\n")
            for row in rows:
                f.write("\t".join(c.replace("\t", " ") for c in row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
