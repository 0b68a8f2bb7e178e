"""The S3-compatible bucket the artifact stores use (moto here, MinIO or S3 elsewhere)."""

from __future__ import annotations

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


def s3_client(endpoint: str, region: str, credentials: dict[str, str], timeout_s: float = 5):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        config=Config(connect_timeout=timeout_s, read_timeout=timeout_s, retries={"max_attempts": 1}),
    )


def ensure_bucket(endpoint: str, bucket: str, region: str, credentials: dict[str, str]) -> bool:
    """Create `bucket` when it is missing; True when it was created."""
    client = s3_client(endpoint, region, credentials)
    try:
        client.head_bucket(Bucket=bucket)
        return False
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
            raise
    if region == "us-east-1":  # S3 refuses a LocationConstraint naming its default region
        client.create_bucket(Bucket=bucket)
    else:
        client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    return True
