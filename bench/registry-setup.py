#!/usr/bin/env python3
"""Fills a moto_server with the images bench/run.sh's registry rows check.

Reads `repository commit-sha` lines on stdin; creates each repository once and puts one
small Docker v2 image per line, tagged with the commit sha (the default `image-tag`).
Needs boto3, which every moto[server] install has: run it with moto's own interpreter.

Usage: registry-setup.py ENDPOINT_URL < lines
"""

import hashlib
import json
import sys

import boto3


def main():
    endpoint = sys.argv[1]
    ecr = boto3.client(
        "ecr",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )
    created = set()
    for line in sys.stdin:
        repository, sha = line.split()
        if repository not in created:
            ecr.create_repository(repositoryName=repository)
            created.add(repository)
        layer = hashlib.sha256(f"{repository}:{sha}".encode()).hexdigest()
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 1000,
                "digest": "sha256:" + hashlib.sha256(layer.encode()).hexdigest(),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": 100000,
                    "digest": "sha256:" + layer,
                }
            ],
        }
        ecr.put_image(
            repositoryName=repository,
            imageManifest=json.dumps(manifest),
            imageManifestMediaType=manifest["mediaType"],
            imageTag=sha,
        )


if __name__ == "__main__":
    main()
