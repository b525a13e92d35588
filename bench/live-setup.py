#!/usr/bin/env python3
"""Creates in a moto_server what bench/run.sh's live rows read and deploy to.

Reads one service name per line on stdin. For each: an ECS task definition (family and
container named after the service, image `<repository uri>:latest`) and a service of that
name in cluster `stg` (desired count 1; start moto with MOTO_ECS_SERVICE_RUNNING=1 so
its rollout is COMPLETED), and a Lambda image function of that name, published, with an
alias `prod` on version 1. The names are the defaults of `kind = "ecs"` and
`kind = "lambda"` environments (`service`, `container`, `function` = `{service}`,
`alias` = `{env}`). Needs boto3 (moto's own interpreter has it).

Usage: live-setup.py ENDPOINT_URL < services
"""

import sys

import boto3

ACCOUNT_ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


def client(service, endpoint):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )


def main():
    endpoint = sys.argv[1]
    ecs, lam, iam = (client(s, endpoint) for s in ("ecs", "lambda", "iam"))
    role = iam.create_role(RoleName="bench-fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    ecs.create_cluster(clusterName="stg")
    for line in sys.stdin:
        service = line.strip()
        if not service:
            continue
        image = f"{ACCOUNT_ECR}/{service}-image:latest"
        ecs.register_task_definition(
            family=service,
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="256",
            memory="512",
            containerDefinitions=[{"name": service, "image": image, "essential": True, "memory": 512}],
        )
        ecs.create_service(cluster="stg", serviceName=service, taskDefinition=f"{service}:1", desiredCount=1)
        lam.create_function(
            FunctionName=service,
            Role=role,
            PackageType="Image",
            Code={"ImageUri": image},
            Publish=True,
        )
        lam.create_alias(FunctionName=service, Name="prod", FunctionVersion="1")


if __name__ == "__main__":
    main()
