#!/usr/bin/env python3
"""Names the AWS operations in a latency-proxy request log (`--log FILE`).

Each log line is `METHOD /path?query-names X-Amz-Target body=N headers=a,b` (`-` without
the target header; N the request body's size; the header names, no value). JSON APIs
(ECS, ECR) name the operation in X-Amz-Target; Lambda's REST API and S3's (path-style,
`/bucket/key`) are named here from method, path, query names and header names. Prints one
operation per line, in order.

Usage: calls.py LOG             the operations
       calls.py --bytes LOG     the request bytes the log's calls sent (bodies summed)
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

# S3 bucket sub-resources (query names) on a path without a key.
S3_BUCKET = {
    ("GET", "versioning"): "GetBucketVersioning",
    ("GET", "list-type"): "ListObjectsV2",
    ("GET", "versions"): "ListObjectVersions",
    ("GET", "location"): "GetBucketLocation",
}


def fields(line):
    parts = line.split(" ")
    method, path, target = (parts + ["", "", "-"])[:3]
    extra = dict(p.split("=", 1) for p in parts[3:] if "=" in p)
    return method, path, target, extra


def s3_operation(method, bare, query, headers):
    segments = [s for s in bare.split("/") if s]
    if len(segments) >= 2:  # /bucket/key
        if "tagging" in query:
            return {"GET": "GetObjectTagging", "PUT": "PutObjectTagging"}.get(method)
        if method == "HEAD":
            return "HeadObject"
        if method == "GET":
            return "GetObject"
        if method == "PUT":
            return "CopyObject" if "x-amz-copy-source" in headers else "PutObject"
        if method == "DELETE":
            return "DeleteObject"
    if len(segments) == 1:  # /bucket
        if method == "HEAD":
            return "HeadBucket"
        for name in query:
            if (method, name) in S3_BUCKET:
                return S3_BUCKET[(method, name)]
    return None


def operation(line):
    method, path, target, extra = fields(line)
    if target != "-":
        return target.rsplit(".", 1)[-1]
    bare, _, query = path.partition("?")
    prefix = "/2015-03-31/functions/"
    if bare.startswith(prefix):
        rest = bare[len(prefix):].rstrip("/")
        for m, pattern, name in LAMBDA:
            if m == method and re.fullmatch(pattern, rest):
                return name
        return f"{method} {bare}"
    headers = set(filter(None, extra.get("headers", "").split(",")))
    named = s3_operation(method, bare, set(filter(None, query.split("&"))), headers)
    return named or f"{method} {bare}"


def main():
    args = sys.argv[1:]
    count_bytes = args[:1] == ["--bytes"]
    with open(args[-1]) as f:
        lines = [l.rstrip("\n") for l in f if l.strip()]
    if count_bytes:
        print(sum(int(fields(l)[3].get("body", "0")) for l in lines))
        return
    for line in lines:
        print(operation(line))


if __name__ == "__main__":
    main()
