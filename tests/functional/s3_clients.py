"""boto3 S3 clients for the aio cluster's users (access key account:user, secret its key)."""
import http.client
from urllib.parse import urlparse

import boto3
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

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


class FixedPayloadAuth(S3SigV4Auth):
    """botocore's V4 signer, signing the payload mode the test names."""

    def __init__(self, credentials, payload_mode):
        super().__init__(credentials, "s3", "us-east-1")
        self.payload_mode = payload_mode

    def payload(self, request):
        return self.payload_mode or super().payload(request)


def signed_raw(cluster, method, path_and_query, body=b"", headers=None, host=None,
               secret="testing", payload_mode=None, signed_body=None):
    """Send a V4-signed request (botocore's signer) with the exact bytes given.

    ``signed_body`` is what the signature covers when it must differ from ``body``;
    ``payload_mode`` is the X-Amz-Content-SHA256 value to sign (default: the hash).
    Returns (status, body, the signed headers).
    """
    status, _headers, reply, sent = signed_exchange(
        cluster, method, path_and_query, body, headers, host, secret, payload_mode,
        signed_body)
    return status, reply, sent


def signed_exchange(cluster, method, path_and_query, body=b"", headers=None, host=None,
                    secret="testing", payload_mode=None, signed_body=None):
    """As :func:`signed_raw`; returns (status, response headers, body, signed headers)."""
    parts = urlparse(cluster.proxy_url)
    url = "http://%s%s" % (host or parts.netloc, path_and_query)
    request = AWSRequest(method=method, url=url, data=body if signed_body is None
                         else signed_body, headers=dict(headers or {}))
    if payload_mode is None and "X-Amz-Content-SHA256" in request.headers:
        payload_mode = request.headers["X-Amz-Content-SHA256"]
    FixedPayloadAuth(Credentials("test:tester", secret), payload_mode).add_auth(request)
    sent = dict(request.headers.items())
    sent["Host"] = host or parts.netloc
    path = path_and_query
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=sent)
        resp = connection.getresponse()
        return resp.status, resp.headers, resp.read(), sent
    finally:
        connection.close()
