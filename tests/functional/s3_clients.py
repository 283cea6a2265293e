"""boto3 S3 clients for the aio cluster's users (access key account:user, secret its key)."""
import boto3
from botocore.config import Config

from objstore.aio.cluster import USERS


def s3_client(cluster, user="test:tester", key=None, verify=None, **config):
    """Path-style, one attempt (a retry would hide the first answer's error);
    ``verify``: the CA file an HTTPS cluster's certificate is checked with."""
    config.setdefault("s3", {"addressing_style": "path"})
    config.setdefault("retries", {"max_attempts": 1})
    return boto3.client("s3", endpoint_url=cluster.proxy_url, region_name="us-east-1",
                        aws_access_key_id=user, aws_secret_access_key=key or USERS[user],
                        verify=verify, config=Config(**config))


def empty_and_delete(s3, bucket):
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"])
    s3.delete_bucket(Bucket=bucket)

