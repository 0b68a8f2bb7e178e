"""Databases of a test's own on the PostgreSQL server at 127.0.0.1:5432 (or TASADOR_TEST_POSTGRES)."""

from __future__ import annotations

import os
import socket
import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_ADMIN_URL = os.environ.get("TASADOR_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def postgres_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=2):
            return True
    except OSError:
        return False


def create_postgres_database(prefix: str = "tasador_test") -> str:
    """Create an empty database with a unique name; returns its SQLAlchemy URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    _run_on_server(POSTGRES_ADMIN_URL, f'CREATE DATABASE "{name}"')
    return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str, admin_database: str = "postgres") -> None:
    """Drop the database `url` names, closing its open sessions first (PostgreSQL 13+)."""
    admin = make_url(url).set(database=admin_database).render_as_string(hide_password=False)
    _run_on_server(admin, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def _run_on_server(admin_url: str, statement: str) -> None:
    # CREATE/DROP DATABASE cannot run inside a transaction block: autocommit on the maintenance database.
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()
