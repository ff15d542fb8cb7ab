"""One instance per data folder: an OS file lock, and ``server.json`` saying where it listens.

The lock is taken before the port is bound; the OS drops it when the process dies, even on
``kill -9``. ``server.json`` is written once the port is bound and removed on a clean exit, so a
second launch can find (and open) the running instance.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import filelock

from companion.errors import AlreadyRunningError


class InstanceLock:
    """Holds ``companion.lock`` in the data folder for the life of the app."""

    def __init__(self, lock_file: Path, server_file: Path) -> None:
        self._lock = filelock.FileLock(lock_file)
        self._server_file = server_file

    def acquire(self) -> None:
        try:
            self._lock.acquire(timeout=0)
        except filelock.Timeout:
            info = read_server_file(self._server_file)
            url = info.get("url") if info else None
            where = f" at {url} (pid {info.get('pid')})" if info and url else ""
            raise AlreadyRunningError(
                f"companion is already running for this data folder{where}", url
            ) from None

    def release(self) -> None:
        self._lock.release()

    def publish(self, info: dict[str, Any]) -> None:
        """Write ``server.json`` atomically (write aside, then rename)."""
        tmp = self._server_file.with_name(self._server_file.name + ".tmp")
        tmp.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self._server_file)

    def unpublish(self) -> None:
        self._server_file.unlink(missing_ok=True)


def read_server_file(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None
