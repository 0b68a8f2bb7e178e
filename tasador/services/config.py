"""Credentials of the local production services; their ports and names are `Settings.configs.services`."""

from __future__ import annotations

import os

#: Dev-only S3 credentials: moto accepts any key; a real MinIO/S3 gets its own from the environment.
DEV_S3_KEY = "tasador-dev"
DEV_S3_SECRET = "tasador-dev-secret"


def s3_credentials() -> dict[str, str]:
    """AWS-style credentials from the environment, with the dev-only defaults that moto accepts."""
    return {
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", DEV_S3_KEY),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", DEV_S3_SECRET),
    }
