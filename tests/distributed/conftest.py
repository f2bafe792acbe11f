"""A real PostgreSQL server for the distributed-search tests, when one is installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

PG_URL = "postgresql://sknas:sknas@127.0.0.1:5432/sknas_test"


def _psql(sql: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["runuser", "-u", "postgres", "--", "psql", "-v", "ON_ERROR_STOP=1", "-tAc", sql],
        capture_output=True,
        text=True,
        timeout=30,
    )


def _start_postgres() -> str | None:
    """Start the machine's PostgreSQL 15 cluster and create a test database; None if absent."""
    if shutil.which("pg_ctlcluster") is None or os.geteuid() != 0:
        return None
    subprocess.run(["pg_ctlcluster", "15", "main", "start"], capture_output=True, timeout=60)
    for _ in range(60):
        ready = subprocess.run(["pg_isready", "-h", "127.0.0.1"], capture_output=True)
        if ready.returncode == 0:
            break
        time.sleep(0.5)
    else:
        return None
    if _psql("SELECT 1 FROM pg_roles WHERE rolname='sknas'").stdout.strip() != "1":
        _psql("CREATE ROLE sknas LOGIN PASSWORD 'sknas'")
    if _psql("SELECT 1 FROM pg_database WHERE datname='sknas_test'").stdout.strip() != "1":
        _psql("CREATE DATABASE sknas_test OWNER sknas")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return None
    return PG_URL


@pytest.fixture(scope="session")
def shared_storage_url(tmp_path_factory) -> str:
    """PostgreSQL when available, else SQLite (the test says which it used).

    With ``SKNAS_REQUIRE_POSTGRES=1`` (set by CI) a missing PostgreSQL fails instead.
    """
    url = _start_postgres()
    if url is not None:
        from optuna.storages import RDBStorage

        RDBStorage(url)  # create Optuna's tables once, before processes race to do it
        print(f"\ndistributed search test: using PostgreSQL at {url}")
        return url
    if os.environ.get("SKNAS_REQUIRE_POSTGRES") == "1":
        pytest.fail("SKNAS_REQUIRE_POSTGRES=1 but PostgreSQL could not be started")
    path = tmp_path_factory.mktemp("storage") / "search.db"
    print(f"\ndistributed search test: PostgreSQL is not available; using SQLite at {path}")
    from optuna.storages import RDBStorage

    RDBStorage(f"sqlite:///{path}")
    return f"sqlite:///{path}"
