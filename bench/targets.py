"""Where the bench loads its data: fresh SQLite files in a temporary directory (the default), or
scratch databases it creates on a PostgreSQL server (`--database-url`) and drops afterwards."""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


class SqliteTarget:
    engine = "sqlite"

    def __init__(self, keep: bool = False):
        self.root = Path(tempfile.mkdtemp(prefix="wangge-bench-"))
        self.keep = keep

    @property
    def label(self) -> str:
        return f"SQLite {sqlite3.sqlite_version} (temporary files in {self.root})"

    def env(self, name: str) -> dict[str, str]:
        """Settings for one fresh database called `name`."""
        return {"WANGGE_VAR_DIR": str(self.root / name), "DATABASE_URL": ""}

    def raw(self, name: str) -> str:
        return str(self.root / f"{name}.sqlite3")

    def cleanup(self) -> None:
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)


class PostgresTarget:
    """Creates databases wangge_bench_<pid>_<name> with the given server connection and drops them."""

    engine = "postgresql"

    def __init__(self, url: str, keep: bool = False):
        import psycopg

        self.psycopg = psycopg
        self.url = url
        self.keep = keep
        self.created: list[str] = []
        self.root = Path(tempfile.mkdtemp(prefix="wangge-bench-"))
        with psycopg.connect(url, autocommit=True) as connection:
            self.version = connection.execute("SHOW server_version").fetchone()[0]

    @property
    def label(self) -> str:
        parts = urlsplit(self.url)
        return f"PostgreSQL {self.version} at {parts.hostname or 'local socket'}"

    def _create(self, name: str) -> str:
        database = f"wangge_bench_{os.getpid()}_{name}"
        with self.psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{database}"')
        self.created.append(database)
        parts = urlsplit(self.url)
        return urlunsplit(parts._replace(path=f"/{database}"))

    def env(self, name: str) -> dict[str, str]:
        return {"WANGGE_VAR_DIR": str(self.root / name), "DATABASE_URL": self._create(name)}

    def raw(self, name: str) -> str:
        return self._create(name)

    def cleanup(self) -> None:
        if self.keep:
            return
        with self.psycopg.connect(self.url, autocommit=True) as connection:
            for database in self.created:
                connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        shutil.rmtree(self.root, ignore_errors=True)
