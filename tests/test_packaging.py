"""Packaging: the build script's helpers, the spec's promises, and the built app's smoke test.

The smoke test of a real build (``test_the_built_app_passes_the_smoke_test``) runs against
``dist/`` when it holds a build of this checkout, and skips otherwise: a build takes one to two
minutes of both cores, too much to repeat inside every test run. ``.ci/run`` builds and runs the
same smoke test right after the test suite (``python packaging/build.py --smoke``); after a
local build, ``python -m pytest -m slow tests/test_packaging.py`` checks it again.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import stat
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

import companion
from companion import selftest

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "packaging" / "companion.spec"


def _load_build() -> ModuleType:
    path = ROOT / "packaging" / "build.py"
    spec = importlib.util.spec_from_file_location("packaging_build", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and the like look their module up
    spec.loader.exec_module(module)
    return module


build = _load_build()

WARN_FILE = """
This file lists modules PyInstaller was not able to find.

missing module named winreg - imported by platform (delayed, optional), mimetypes (optional)
missing module named uvloop - imported by uvicorn.loops.auto (delayed, optional)
missing module named 'companion.gone' - imported by companion.cli (delayed)
missing module named orjson_x - imported by companion.web.ingest (top-level), x (optional)
missing module named trio - imported by anyio._backends._trio (top-level)
missing module named pydantic.BaseModel - imported by pydantic (delayed), companion.x (top-level)
"""


def test_only_holes_in_companion_itself_fail_the_build() -> None:
    holes = build.missing_own_modules(WARN_FILE)
    assert [line.split()[3] for line in holes] == ["'companion.gone'", "orjson_x"]


def test_the_build_script_reads_the_package_version() -> None:
    assert build.version() == companion.__version__


def test_platform_tag_and_executable_follow_the_os() -> None:
    tag = build.platform_tag()
    system, _, machine = tag.partition("-")
    assert system in ("linux", "windows", "macos") and machine
    exe = build.executable(Path("dist"))
    expected = {
        "win32": Path("dist/companion/Companion.exe"),
        "darwin": Path("dist/Companion.app/Contents/MacOS/companion"),
    }.get(sys.platform, Path("dist/companion/companion"))
    assert exe == expected


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks and modes are POSIX things")
def test_the_zip_keeps_symlinks_and_the_executable_bit(tmp_path: Path) -> None:
    folder = tmp_path / "companion"
    (folder / "_internal").mkdir(parents=True)
    exe = folder / "companion"
    exe.write_bytes(b"#!/bin/sh\n")
    exe.chmod(0o755)
    (folder / "_internal" / "libx.so.1").write_bytes(b"lib")
    (folder / "_internal" / "libx.so").symlink_to("libx.so.1")
    archive = tmp_path / "out.zip"
    build.zip_folder(folder, archive)
    with zipfile.ZipFile(archive) as zf:
        infos = {info.filename: info for info in zf.infolist()}
        assert set(infos) == {
            "companion/_internal/",
            "companion/_internal/libx.so",
            "companion/_internal/libx.so.1",
            "companion/companion",
        }
        link = infos["companion/_internal/libx.so"]
        assert stat.S_ISLNK(link.external_attr >> 16)
        assert zf.read(link) == b"libx.so.1"
        assert (infos["companion/companion"].external_attr >> 16) & 0o111


def test_the_checksum_file_is_in_sha256sum_format(tmp_path: Path, monkeypatch) -> None:
    dist = tmp_path / "dist"
    (dist / "companion").mkdir(parents=True)
    (dist / "companion" / "companion").write_bytes(b"app")
    monkeypatch.setattr(build.sys, "platform", "linux")
    archive = build.package(dist, tmp_path / "artifacts")
    line = (archive.parent / (archive.name + ".sha256")).read_text(encoding="ascii")
    digest, name = line.split()
    assert name == archive.name and name.startswith(f"companion-{companion.__version__}-linux-")
    assert digest == build.sha256_of(archive) and len(digest) == 64


def test_the_spec_is_python_and_keeps_its_promises() -> None:
    text = SPEC.read_text(encoding="utf-8")
    ast.parse(text)  # a syntax error would only show up in the (slow) build
    assert "PACKAGE.rglob" in text  # every file of the package: files added later ship too
    assert '"LSUIElement": True' in text  # macOS: no Dock icon
    assert "console=not (IS_WINDOWS or IS_MACOS)" in text  # windowed on Windows and macOS
    assert 'name="Companion" if IS_WINDOWS else "companion"' in text
    assert "upx=False" in text
    for icon in ("companion.ico", "companion.icns"):
        assert f'asset("{icon}")' in text  # optional: the build falls back when it is absent
    # The selftest finds the manifest the spec writes into the package.
    assert f'"{selftest.MANIFEST_NAME}"' in text


def _fresh_build() -> Path | None:
    """The built app in dist/ if it was built from this checkout as it is now."""
    exe = build.executable(build.DIST)
    manifest_path = next(build.DIST.rglob(selftest.MANIFEST_NAME), None)
    if not exe.exists() or manifest_path is None:
        return None
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    package = ROOT / "companion"
    sources = [p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    newest = max(p.stat().st_mtime for p in [*sources, build.SPEC])
    if manifest["version"] != companion.__version__ or newest > os.stat(manifest_path).st_mtime:
        return None
    if set(manifest["modules"]) != set(selftest._source_modules()):
        return None
    return exe


@pytest.mark.slow
def test_the_built_app_passes_the_smoke_test() -> None:
    if _fresh_build() is None:
        pytest.skip("no build of this checkout in dist/ (python packaging/build.py builds one)")
    build.smoke(build.DIST)
