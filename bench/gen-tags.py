#!/usr/bin/env python3
"""Generates the 100,000-tag benchmark repository (issue 2 and issue 3 speed rows).

1,000 services (svc-0000 … svc-0999) × 100 releases each = 100,000 ANNOTATED tags,
packed with `git pack-refs --all`, and a git-release.toml that declares the 1,000
services with `[registry] kind = "none"`.

The 100 commits go through `git fast-import`; the 100,000 tag objects are written as one
pack (`git index-pack`) and their refs straight into packed-refs, so the repository is
built in seconds instead of running 100,000 `git tag` processes (or a minute of loose-ref
writes, which is what fast-import's own `tag` command costs at this size).

History: 100 commits on `main`. Release r (0..99) of every service points at commit r, so
every service has the same 100 versions, ordered so that git's `v:refname` order and
semver order are both exercised (1.9.0 < 1.10.0, several majors).

With `--commits C` (more commits than releases; issue 11's `list`/`status` rows) the
history has C commits and the releases are staggered: service i's latest release is on
commit `R-1 + i*(C-R)/N` (R releases, N services), its earlier ones spread evenly below
it, so the services' "commits since" ranges run from a few commits to the whole history.
`--environments` declares `stg` and `prd` environments (pins are not written).

Usage: gen-tags.py DIR [--services N] [--releases N] [--commits C] [--environments] [--shared]
The directory must not exist; bench/run.sh caches it under bench/work/.
"""

import argparse
import hashlib
import os
import struct
import subprocess
import sys

from benchlib import config, data, fast_import, git, scratch_repo, service
import zlib

EPOCH = 1_700_000_000
AUTHOR = "Bench Bot <bench@example.invalid>"


def version(r):
    """Version of release r: 1.0.0 … 1.12.1 then 2.0.0 … 2.12.1 (minors past 9)."""
    major = 1 + r // 50
    minor = (r % 50) // 4
    patch = (r % 50) % 4
    return f"{major}.{minor}.{patch}"








def shared_config(text, services):
    """Adds shared paths (issue 15's `also`) to a generated config: every service shares
    `libs/common` through `[defaults] also`, every tenth one also lists `proto`."""
    text = text.replace("[registry]\n", '[defaults]\nalso = ["libs/common"]\n\n[registry]\n', 1)
    for i in range(0, services, 10):
        name = service(i)
        text = text.replace(
            f'path = "services/{name}"\n', f'path = "services/{name}"\nalso = ["proto"]\n', 1
        )
    return text


def commits_stream(out, services, releases, environments=False, shared=False):
    """Commit 0 carries the config and one file per service; commit r>0 touches ten
    services (round-robin) so the history is not empty of content. With `shared`, every
    50th commit also touches `libs/common` and every 70th `proto`."""
    for r in range(releases):
        when = EPOCH + r * 3600
        out.write(b"commit refs/heads/main\n")
        out.write(f"mark :{r + 1}\n".encode())
        out.write(f"committer {AUTHOR} {when} +0000\n".encode())
        data(out, f"chore: round {r}\n" if r else "chore: initial import\n")
        if r == 0:
            out.write(b"M 100644 inline git-release.toml\n")
            text = config("gen-tags.py", services)
            if shared:
                text = shared_config(text, services)
            if environments:
                text += '\n[environments.stg]\ndir = "infra/stg"\n\n[environments.prd]\ndir = "infra/prd"\n'
            data(out, text)
            for i in range(services):
                out.write(f"M 100644 inline services/{service(i)}/VERSION\n".encode())
                data(out, "0\n")
        else:
            for k in range(10):
                i = (r * 10 + k) % services
                out.write(f"M 100644 inline services/{service(i)}/VERSION\n".encode())
                data(out, f"{r}\n")
            for every, path in ((50, "libs/common"), (70, "proto")):
                if shared and r % every == 0:
                    out.write(f"M 100644 inline {path}/VERSION\n".encode())
                    data(out, f"{r}\n")
        out.write(b"\n")
    out.write(b"done\n")


def release_commit(i, r, services, releases, history):
    """The commit index of service i's release r."""
    if history == releases:
        return r
    latest = releases - 1 + i * (history - releases) // max(services - 1, 1)
    if r == releases - 1:
        return latest
    return r * latest // (releases - 1)


def tag_objects(commits, services, releases, history):
    """Yields (refname, tag object id, commit id, raw object) for every release tag."""
    for i in range(services):
        name = service(i)
        for r in range(releases):
            tag = f"{name}-v{version(r)}"
            c = release_commit(i, r, services, releases, history)
            body = (
                f"object {commits[c]}\ntype commit\ntag {tag}\n"
                f"tagger {AUTHOR} {EPOCH + c * 3600 + 60} +0000\n\n"
                f"{name} version {version(r)}\n"
            ).encode()
            oid = hashlib.sha1(b"tag %d\0" % len(body) + body).hexdigest()
            yield f"refs/tags/{tag}", oid, commits[c], body


def pack_header(kind, size):
    """The variable-length type+size header of one undeltified pack entry."""
    byte = (kind << 4) | (size & 0x0F)
    size >>= 4
    out = bytearray()
    while size:
        out.append(byte | 0x80)
        byte = size & 0x7F
        size >>= 7
    out.append(byte)
    return bytes(out)


def write_pack(objects):
    """A version-2 pack of undeltified tag objects (type 4), as bytes."""
    sha = hashlib.sha1()
    parts = [b"PACK", struct.pack(">II", 2, len(objects))]
    for body in objects:
        parts.append(pack_header(4, len(body)))
        parts.append(zlib.compress(body, 1))
    raw = b"".join(parts)
    sha.update(raw)
    return raw + sha.digest()




def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir")
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--releases", type=int, default=100)
    parser.add_argument("--commits", type=int, default=None)
    parser.add_argument("--environments", action="store_true")
    parser.add_argument("--shared", action="store_true")
    args = parser.parse_args()
    if args.releases > 100:
        sys.exit("error: --releases above 100 would repeat versions")
    history = args.commits or args.releases
    if history < args.releases:
        sys.exit("error: --commits below --releases")
    args.dir, tmp = scratch_repo(args.dir)
    marks = os.path.join(tmp, ".git", "bench-marks")
    fast_import(
        tmp,
        lambda stdin: commits_stream(
            stdin, args.services, history, args.environments, args.shared
        ),
        f"--export-marks={marks}",
    )
    commits = {}
    with open(marks) as f:
        for line in f:
            mark, oid = line.split()
            commits[int(mark[1:]) - 1] = oid
    os.remove(marks)
    # 100,000 refs written one by one (fast-import `tag`, `git tag`, a reftable migration)
    # cost a minute of loose-ref I/O: write the tag objects as one pack and the refs
    # straight into packed-refs instead, in the format `git pack-refs --all` writes.
    tags = list(tag_objects(commits, args.services, args.releases, history))
    subprocess.run(
        ["git", "index-pack", "--stdin"],
        cwd=tmp,
        input=write_pack([t[3] for t in tags]),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    git(tmp, "pack-refs", "--all")
    packed = os.path.join(tmp, ".git", "packed-refs")
    entries = {}
    with open(packed) as f:
        current = None
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#"):
                continue
            if line.startswith("^"):
                entries[current].append(line)
            else:
                current = line.split(" ", 1)[1]
                entries[current] = [line]
    for ref, oid, commit, _ in tags:
        entries[ref] = [f"{oid} {ref}", f"^{commit}"]
    with open(packed + ".new", "w") as f:
        f.write("# pack-refs with: peeled fully-peeled sorted \n")
        for ref in sorted(entries, key=lambda r: r.encode()):
            f.write("\n".join(entries[ref]) + "\n")
    os.replace(packed + ".new", packed)
    git(tmp, "reset", "-q", "--hard", "main")
    os.rename(tmp, args.dir)


if __name__ == "__main__":
    main()
