#!/usr/bin/env python3
"""Generates the 5,000-commit benchmark repository (issue 2's commit-scan row, issue 3's
push rows).

50 services (svc-0000 … svc-0049), each with 20 files, so pathspec-limited walks have
real trees to compare. Commit 1 is the release `svc-0001-v1.4.2` (annotated); each of the
following commits touches one service: every 3rd one svc-0001, the others one of the
other 49 services (round-robin). Messages are conventional commits (feat/fix/chore/docs/
refactor/perf/test with scopes, some with bodies, a few `!` breaking changes on other
services) so the suggestion code parses realistic text.

One `git fast-import` stream builds the whole repository in a few seconds.

Usage: gen-history.py DIR [--commits N]   (default 5001: the release commit + 5,000 after it)
"""

import argparse
import os

from benchlib import config, data, fast_import, git, scratch_repo, service

EPOCH = 1_700_000_000
AUTHOR = "Bench Bot <bench@example.invalid>"
SERVICES = 50
FILES = 20
HOT = 1  # svc-0001, the service the benchmark scans
TYPES = ["feat", "fix", "chore", "docs", "refactor", "fix", "perf", "test", "fix", "feat"]
WORDS = [
    "parser", "cache", "retry", "timeout", "logging", "metrics", "handler", "schema",
    "config", "client", "pool", "queue", "auth", "session", "index", "export",
]








def message(n, target):
    kind = TYPES[n % len(TYPES)]
    word = WORDS[n % len(WORDS)]
    scope = WORDS[(n // 7) % len(WORDS)]
    breaking = "!" if target != HOT and n % 97 == 0 else ""
    subject = f"{kind}({scope}){breaking}: {'add' if kind == 'feat' else 'adjust'} {word} handling #{n}"
    if n % 5 == 0:
        body = (
            f"\n\nThe {word} path now checks its input before use; this keeps\n"
            f"the {scope} module consistent with the others.\n\nRefs: BENCH-{n}\n"
        )
    else:
        body = "\n"
    return subject + body


def stream(out, commits):
    # Commit 1: the whole tree (config + 50 services × 20 files).
    out.write(b"commit refs/heads/main\nmark :1\n")
    out.write(f"committer {AUTHOR} {EPOCH} +0000\n".encode())
    data(out, "chore: initial import\n")
    out.write(b"M 100644 inline git-release.toml\n")
    data(out, config("gen-history.py", SERVICES))
    for i in range(SERVICES):
        for f in range(FILES):
            out.write(f"M 100644 inline services/{service(i)}/src/file{f:02d}.txt\n".encode())
            data(out, f"{service(i)} file {f}\n")
    out.write(b"\n")
    # The release everything is compared against.
    out.write(f"tag {service(HOT)}-v1.4.2\nfrom :1\n".encode())
    out.write(f"tagger {AUTHOR} {EPOCH + 30} +0000\n".encode())
    data(out, f"{service(HOT)} version 1.4.2\n")
    others = [i for i in range(SERVICES) if i != HOT]
    for n in range(2, commits + 1):
        target = HOT if n % 3 == 0 else others[n % len(others)]
        out.write(f"commit refs/heads/main\nmark :{n}\n".encode())
        out.write(f"committer {AUTHOR} {EPOCH + n * 60} +0000\n".encode())
        data(out, message(n, target))
        out.write(f"from :{n - 1}\n".encode())
        path = f"services/{service(target)}/src/file{n % FILES:02d}.txt"
        out.write(f"M 100644 inline {path}\n".encode())
        data(out, f"{service(target)} file {n % FILES} revision {n}\n")
        out.write(b"\n")
    out.write(b"done\n")




def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir")
    parser.add_argument("--commits", type=int, default=5001)
    args = parser.parse_args()
    args.dir, tmp = scratch_repo(args.dir)
    fast_import(tmp, lambda stdin: stream(stdin, args.commits))
    git(tmp, "pack-refs", "--all")
    git(tmp, "reset", "-q", "--hard", "main")
    os.rename(tmp, args.dir)


if __name__ == "__main__":
    main()
