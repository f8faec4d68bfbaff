#!/usr/bin/env python3
"""Writes docs/API.md, the API reference, from the public headers' comments.

Every LDNQ_API declaration and every typedef/enum is listed per header, with the comment
block just above it. tests/sh/api_doc.sh checks that docs/API.md is up to date.
Usage: scripts/gen-api-doc.py [--check]
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
ORDER = ["common.h", "tensor.h", "network.h", "io.h", "data.h", "quant.h", "train.h",
         "experimental.h"]


def items(text):
    """Yields (comment, declaration) pairs in file order."""
    lines = text.split("\n")
    comment, i = [], 0
    while i < len(lines):
        line = lines[i]
        s = line.strip()
        if s.startswith("/*"):
            block = [line]
            while "*/" not in lines[i]:
                i += 1
                block.append(lines[i])
            comment = block
            i += 1
            continue
        if s.startswith("#define LDNQ_") and s.endswith("_H"):
            i += 1
            continue
        if s.startswith("LDNQ_API") or s.startswith("typedef") or s.startswith("#define LDNQ_"):
            decl = [line]
            opener = s.startswith("typedef enum") or s.startswith("typedef struct {")
            end = "}" if opener else ";"
            if s.startswith("#define"):
                while decl[-1].rstrip().endswith("\\"):
                    i += 1
                    decl.append(lines[i])
            else:
                while not (end in lines[i] and (not opener or re.search(r"}\s*\w*\s*;", lines[i]))):
                    i += 1
                    decl.append(lines[i])
            yield comment, decl
            comment = []
        elif s and not s.startswith("//"):
            comment = []
        i += 1


def clean(comment):
    out = []
    for l in comment:
        l = l.strip()
        l = re.sub(r"^/\*+\s?", "", l)
        l = re.sub(r"\s*\*+/$", "", l)
        l = re.sub(r"^\*\s?", "", l)
        out.append(l)
    return "\n".join(out).strip()


def render():
    parts = ["# libldnq API reference",
             "",
             "Generated from the comments in `include/ldnq/*.h` by `scripts/gen-api-doc.py`;",
             "the headers are the source of truth. Include `<ldnq/ldnq.h>` (everything but",
             "`experimental.h`). Conventions: docs/ABI.md, thread safety: `ldnq/common.h`.", ""]
    headers = [h for h in ORDER if (ROOT / "include/ldnq" / h).exists()]
    headers += sorted(p.name for p in (ROOT / "include/ldnq").glob("*.h")
                      if p.name not in ORDER and p.name != "ldnq.h")
    for h in headers:
        text = (ROOT / "include/ldnq" / h).read_text()
        head = clean(text.split("\n\n")[0].split("#ifndef")[0].split("\n")) if text.startswith("/*") else ""
        parts += [f"## `ldnq/{h}`", "", head, ""]
        for comment, decl in items(text):
            parts += ["```c", "\n".join(decl), "```"]
            c = clean(comment)
            if c:
                parts += ["", c]
            parts.append("")
    return "\n".join(parts).rstrip() + "\n"


def main():
    doc = render()
    path = ROOT / "docs/API.md"
    if "--check" in sys.argv:
        if not path.exists() or path.read_text() != doc:
            print("docs/API.md is out of date: run scripts/gen-api-doc.py", file=sys.stderr)
            return 1
        return 0
    path.write_text(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
