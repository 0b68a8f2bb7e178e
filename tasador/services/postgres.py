"""Databases on a running PostgreSQL server: created when missing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

_SAFE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def ensure_database(url: str, admin_database: str = "postgres") -> bool:
    """Create the database `url` names when it does not exist yet; True when it was created."""
    name = _database_name(url)
    with _admin_connection(url, admin_database) as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        if exists is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    return exists is None


def _database_name(url: str) -> str:
    name = make_url(url).database or ""
    if not _SAFE_NAME.match(name):
        raise ValueError(f"Database name {name!r} in {url} must be lower-case letters, digits and underscores.")
    return name


@contextmanager
def _admin_connection(url: str, admin_database: str) -> Iterator[Connection]:
    # CREATE/DROP DATABASE cannot run inside a transaction block: autocommit on the maintenance database.
    engine = create_engine(make_url(url).set(database=admin_database), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()
