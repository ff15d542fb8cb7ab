"""Shared fixtures: real SQLite files in temporary folders, a real writer thread, an in-process
HTTP client. Nothing here touches the user's real folders."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from companion.paths import Paths
from companion.pipeline.derivation import LatestStateDerivation
from companion.pipeline.worker import Worker
from companion.pipeline.writer import Writer
from companion.services import Services
from companion.settings import Settings
from companion.storage.database import open_database
from companion.storage.readers import Readers
from companion.web.app import create_app

TEST_PORT = 49999
BASE_URL = f"http://127.0.0.1:{TEST_PORT}"
SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(autouse=True)
def _private_user_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """platformdirs and COMPANION_* never reach the real user's folders or settings."""
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(home / var.lower()))
    for name in list(os.environ):
        if name.startswith("COMPANION_"):
            monkeypatch.delenv(name)


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    result = Paths.resolve(tmp_path / "data")
    result.create()
    return result


@pytest.fixture
def db_path(paths: Paths) -> Path:
    open_database(paths.database)
    return paths.database


@pytest.fixture
def writer(db_path: Path) -> Iterator[Writer]:
    result = Writer(db_path, Worker(LatestStateDerivation()))
    result.start()
    yield result
    result.stop()


@pytest.fixture
def services(paths: Paths, writer: Writer) -> Iterator[Services]:
    result = Services(
        settings=Settings(),
        paths=paths,
        writer=writer,
        readers=Readers(paths.database),
        token="t" * 43,
        port=TEST_PORT,
    )
    yield result
    result.readers.close()


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services), base_url=BASE_URL) as test_client:
        yield test_client
