"""Read-only connections, one per thread, beside the writer (WAL lets them run concurrently)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from companion.storage.database import connect


class Readers:
    """Hands each thread its own read-only connection to the database; ``close`` ends them all."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[sqlite3.Connection] = []

    def get(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self._path, readonly=True)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        self._local = threading.local()
