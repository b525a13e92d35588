#!/usr/bin/env python3
"""Fills a moto_server with the images or objects bench/run.sh's registry rows check.

ECR (default): reads `repository tag [seed]` lines on stdin; creates each repository
once and puts one small Docker v2 image per line, tagged with the tag (a commit sha for
the default `image-tag`, or a release tag). The image is made from repository and seed
(default: the tag), so a release tag given its commit sha as seed is a retag of that
commit's image, as `promote` would leave it.

S3 (`--s3 BUCKET`): reads one object key per line; creates the bucket once and uploads
a small body per key with a SHA-256 checksum, as CI's `aws s3 cp --checksum-algorithm
SHA256` does.

Needs boto3, which every moto[server] install has: run it with moto's own interpreter.

Usage: registry-setup.py ENDPOINT_URL [--s3 BUCKET] < lines
"""

import hashlib
import json
import sys

import boto3


def s3_objects(endpoint, bucket):
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )
    s3.create_bucket(Bucket=bucket)
    for line in sys.stdin:
        key = line.strip()
        if key:
            s3.put_object(Bucket=bucket, Key=key, Body=f"zip of {key}".encode(), ChecksumAlgorithm="SHA256")


def main():
    endpoint = sys.argv[1]
    if sys.argv[2:3] == ["--s3"]:
        s3_objects(endpoint, sys.argv[3])
        return
    ecr = boto3.client(
        "ecr",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )
    created = set()
    for line in sys.stdin:
        fields = line.split()
        repository, tag = fields[0], fields[1]
        seed = fields[2] if len(fields) > 2 else tag
        if repository not in created:
            ecr.create_repository(repositoryName=repository)
            created.add(repository)
        layer = hashlib.sha256(f"{repository}:{seed}".encode()).hexdigest()
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
            imageTag=tag,
        )


if __name__ == "__main__":
    main()
