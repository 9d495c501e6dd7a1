#!/usr/bin/env python3
"""Structure rules a machine checks (issue 11, step 8). Run from anywhere:

    python3 scripts/check-rules.py            # exit 1 when a rule is broken
    python3 scripts/check-rules.py --verbose  # also list what the pending crates still hold

Rules:
  layers   Inside a crate, layers import one way: ld, model < query < store < service < http.
           A module of one layer may not `use crate::`/`super::` a module of a later layer
           (e.g. `store` importing `service`, `query` importing `store`). Files map to layers
           by their path: `src/<layer>.rs`, `src/<layer>/…`, or `src/<layer>_*.rs`
           (`store_entities.rs` is store). Other modules are not layered (yet).
  sql      No string literal that starts with SELECT, INSERT, UPDATE, DELETE or WITH outside
           `store.rs`, `store/`, `store_*.rs`, `migrations*.rs`, `#[cfg(test)]` modules and
           `tests/`. Crates whose SQL has not moved yet are listed in SQL_PENDING with the
           number of statements they may still hold outside store modules: the number may only
           go down (lower it when you move SQL; remove the crate when it reaches 0).
  renderers  Every error renderer maps `ErrorCode`s by `.class()` and has no `_ =>` arm, so
           a new class is a compile error until someone decides how each API shows it.

Python 3 standard library only; runs in about a second.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRATES = ROOT / "crates"

LAYERS = ["ld", "model", "query", "store", "service", "http"]
RANK = {"ld": 0, "model": 0, "query": 1, "store": 2, "service": 3, "http": 4}

# Crates whose SQL still lives outside store modules (issue 11, step 7), with the number
# of SQL string literals they may hold outside store modules. Only ever lower these.
SQL_PENDING: dict = {}
# The store crate is the SQL layer itself.
SQL_EXEMPT_CRATES = {"onecity-store"}

# (file, a text that starts the renderer function) for every error renderer.
RENDERERS = [
    ("crates/onecity-twin/src/ld/error.rs", "fn from(e: onecity_core::Error) -> Self"),
    ("crates/onecity-catalog/src/ckan.rs", "fn from(e: Error) -> Self"),
    ("crates/onecity-governance/src/open311.rs", "fn from_core(e: Error, f: Format)"),
]

SQL_START = re.compile(
    r'^\s*(SELECT\s|INSERT\s+INTO\s|UPDATE\s+\S+\s+SET\s|DELETE\s+FROM\s'
    r'|WITH\s+(RECURSIVE\s+)?\w+(\s*\([^)]*\))?\s+AS\s*\()')


def layer_of(rel: Path):
    """The layer of a source file (path relative to the crate's src/), or None."""
    parts = rel.parts
    first = parts[0]
    stem = first[:-3] if first.endswith(".rs") else first
    for layer in LAYERS:
        if stem == layer or stem.startswith(layer + "_"):
            return layer
    return None


def strip_tests(text: str) -> str:
    """The text without `#[cfg(test)] mod … { … }` blocks (brace matched)."""
    out = []
    i = 0
    while True:
        m = re.search(r'#\[cfg\(test\)\]\s*(pub(\([^)]*\))?\s+)?mod\s+\w+\s*\{', text[i:])
        if not m:
            out.append(text[i:])
            return "".join(out)
        start = i + m.start()
        out.append(text[i:start])
        j = i + m.end()
        depth = 1
        while j < len(text) and depth:
            c = text[j]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            j += 1
        i = j


def string_literals(text: str):
    """(line number, content) of each string literal (plain and raw)."""
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "/" and text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if c == "'":
            # char literal or lifetime: skip a char literal like '"'
            if i + 2 < n and text[i + 2] == "'":
                i += 3
                continue
            if text.startswith("'\\", i):
                j = text.find("'", i + 2)
                i = n if j < 0 else j + 1
                continue
            i += 1
            continue
        if c == "r" and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'r(#*)"', text[i:])
            if m:
                hashes = m.group(1)
                end = text.find('"' + hashes, i + m.end())
                end = n if end < 0 else end
                yield text.count("\n", 0, i) + 1, text[i + m.end():end]
                i = end + 1 + len(hashes)
                continue
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            yield text.count("\n", 0, i) + 1, text[i + 1:j]
            i = j + 1
            continue
        i += 1


def check_layers(errors):
    use_re = re.compile(r'\b(?:crate|super)::(\w+)')
    for src in sorted(CRATES.glob("*/src")):
        for f in sorted(src.rglob("*.rs")):
            rel = f.relative_to(src)
            mine = layer_of(rel)
            if mine is None:
                continue
            text = strip_tests(f.read_text(encoding="utf-8"))
            for lineno, line in enumerate(text.splitlines(), 1):
                if line.lstrip().startswith("//"):
                    continue
                for m in use_re.finditer(line):
                    target = m.group(1)
                    if m.group(0).startswith("super::") and len(rel.parts) > 1:
                        # super:: inside a layer folder names a sibling of the same layer
                        continue
                    theirs = layer_of(Path(target + ".rs"))
                    if theirs and RANK[theirs] > RANK[mine]:
                        errors.append(
                            f"layers: {f.relative_to(ROOT)}:{lineno}: {mine} imports "
                            f"{theirs} ({m.group(0)})")


def is_store_file(rel: Path) -> bool:
    name = rel.parts[0]
    return (name in ("store.rs", "store") or name.startswith("store_")
            or name.startswith("migrations") or rel.name.startswith("migrations"))


def check_sql(errors, verbose):
    for crate in sorted(p for p in CRATES.iterdir() if (p / "src").is_dir()):
        if crate.name in SQL_EXEMPT_CRATES:
            continue
        found = []
        src = crate / "src"
        for f in sorted(src.rglob("*.rs")):
            rel = f.relative_to(src)
            if is_store_file(rel):
                continue
            text = strip_tests(f.read_text(encoding="utf-8"))
            for lineno, lit in string_literals(text):
                if SQL_START.match(lit):
                    found.append(f"{f.relative_to(ROOT)}:{lineno}: {lit.strip()[:60]!r}")
        allowed = SQL_PENDING.get(crate.name, 0)
        if len(found) > allowed:
            errors.append(
                f"sql: {crate.name} has {len(found)} SQL statements outside store modules "
                f"(allowed: {allowed}); move them into store.rs:")
            errors.extend("    " + x for x in found)
        elif len(found) < allowed:
            print(f"note: {crate.name} holds {len(found)} SQL statements outside store modules; "
                  f"lower SQL_PENDING[{crate.name!r}] from {allowed} to {len(found)}")
        if verbose and found:
            print(f"{crate.name}: {len(found)} SQL statements outside store modules")
            for x in found:
                print("    " + x)


def fn_body(text: str, start: str):
    i = text.find(start)
    if i < 0:
        return None
    j = text.find("{", i)
    depth = 0
    for k in range(j, len(text)):
        if text[k] == "{":
            depth += 1
        elif text[k] == "}":
            depth -= 1
            if depth == 0:
                return text[j:k + 1]
    return None


def check_renderers(errors):
    for path, start in RENDERERS:
        text = (ROOT / path).read_text(encoding="utf-8")
        body = fn_body(text, start)
        if body is None:
            errors.append(f"renderers: {path}: renderer `{start}` not found")
            continue
        if ".class()" not in body:
            errors.append(f"renderers: {path}: `{start}` does not map by .class()")
        if re.search(r'(^|[\s|(])_\s*=>', body):
            errors.append(f"renderers: {path}: `{start}` has a wildcard `_ =>` arm")


def main():
    verbose = "--verbose" in sys.argv
    errors = []
    check_layers(errors)
    check_sql(errors, verbose)
    check_renderers(errors)
    for e in errors:
        print(e)
    if errors:
        print(f"check-rules: {len(errors)} problem line(s)")
        return 1
    print("check-rules: layers, SQL placement and error renderers are as the rules say")
    return 0


if __name__ == "__main__":
    sys.exit(main())
