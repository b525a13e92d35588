#!/usr/bin/env python3
"""Names the AWS operations in a latency-proxy request log (`--log FILE`).

Each log line is `METHOD /path?query-names X-Amz-Target` (`-` without the header). JSON
APIs (ECS, ECR) name the operation in X-Amz-Target; Lambda's REST API is named here from
method and path. Prints one operation per line, in order.

Usage: calls.py LOG
"""

import re
import sys

LAMBDA = [
    # (method, path pattern under /2015-03-31/functions/, operation)
    ("GET", r"[^/]+", "GetFunction"),
    ("GET", r"[^/]+/configuration", "GetFunctionConfiguration"),
    ("PUT", r"[^/]+/configuration", "UpdateFunctionConfiguration"),
    ("PUT", r"[^/]+/code", "UpdateFunctionCode"),
    ("POST", r"[^/]+/versions", "PublishVersion"),
    ("GET", r"[^/]+/versions", "ListVersionsByFunction"),
    ("GET", r"[^/]+/aliases/[^/]+", "GetAlias"),
    ("PUT", r"[^/]+/aliases/[^/]+", "UpdateAlias"),
    ("POST", r"[^/]+/aliases", "CreateAlias"),
]


def operation(line):
    method, path, target = (line.split(" ") + ["", "", "-"])[:3]
    if target != "-":
        return target.rsplit(".", 1)[-1]
    bare = path.split("?", 1)[0]
    prefix = "/2015-03-31/functions/"
    if bare.startswith(prefix):
        rest = bare[len(prefix):].rstrip("/")
        for m, pattern, name in LAMBDA:
            if m == method and re.fullmatch(pattern, rest):
                return name
    return f"{method} {bare}"


def main():
    with open(sys.argv[1]) as f:
        for line in f:
            if line.strip():
                print(operation(line.rstrip("\n")))


if __name__ == "__main__":
    main()
