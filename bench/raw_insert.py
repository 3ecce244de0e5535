"""Baseline for the demo load: insert N plain rows into a bare table, with no ORM and no geometry.

    python -m bench.raw_insert sqlite PATH N
    python -m bench.raw_insert postgresql URL N

The table has the columns of a household row and an index on the grid column, and the rows go in
batched inside one transaction, with the same SQLite pragmas as the application's connection. So
the figure is what the database itself costs for that many rows; the demo's time above it is Python:
geometry, names, model instances and SQL compilation.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from itertools import islice

BATCH = 5000
COLUMNS = "(number, grid_id, address, lng, lat, created_at, updated_at)"
STAMP = "2024-01-01 00:00:00"


def rows(n: int) -> Iterator[tuple]:
    for i in range(n):
        yield (
            f"{50022920020400000 + i}",
            i // 40,
            f"某镇某村{i % 9 + 1}组{i % 50 + 1}号",
            108.6,
            31.9,
            STAMP,
            STAMP,
        )


def batches(n: int) -> Iterator[list[tuple]]:
    iterator = rows(n)
    while batch := list(islice(iterator, BATCH)):
        yield batch


def insert_sqlite(path: str, n: int) -> None:
    import sqlite3

    connection = sqlite3.connect(path, isolation_level=None)
    connection.executescript(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
        "CREATE TABLE bare (id INTEGER PRIMARY KEY, number TEXT UNIQUE, grid_id INTEGER, address TEXT,"
        " lng REAL, lat REAL, created_at TEXT, updated_at TEXT);"
        "CREATE INDEX bare_grid ON bare (grid_id);"
    )
    connection.execute("BEGIN IMMEDIATE")
    for batch in batches(n):
        connection.executemany(f"INSERT INTO bare {COLUMNS} VALUES (?, ?, ?, ?, ?, ?, ?)", batch)
    connection.execute("COMMIT")
    connection.close()


def insert_postgresql(url: str, n: int) -> None:
    import psycopg

    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bare (id bigserial PRIMARY KEY, number text UNIQUE, grid_id bigint, address text,"
            " lng double precision, lat double precision, created_at timestamptz, updated_at timestamptz);"
            "CREATE INDEX bare_grid ON bare (grid_id);"
        )
        for batch in batches(n):
            cursor.executemany(f"INSERT INTO bare {COLUMNS} VALUES (%s, %s, %s, %s, %s, %s, %s)", batch)


if __name__ == "__main__":
    engine, target, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    (insert_sqlite if engine == "sqlite" else insert_postgresql)(target, count)
