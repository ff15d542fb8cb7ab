"""``companion --selftest``: the verdict, each check's failure modes, and a real run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from companion import __version__, selftest
from companion.selftest import Check, Report, SelftestFailure
from tests.processes import app_environment


@pytest.mark.slow
def test_a_real_run_passes_and_says_so_in_one_line(tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    env = app_environment()
    env.pop("DISPLAY", None)  # the headless case: the tray is a note, not a failure
    done = subprocess.run(
        [sys.executable, "-m", "companion", f"--selftest={report_path}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"companion selftest PASS: {__version__} (source, ")
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["ok"] is True
    assert report["verdict"] == lines[0]
    checks = {check["name"]: check for check in report["checks"]}
    assert list(checks) == ["start", "health", "ingest", "page", "modules", "compiled", "tray"]
    assert all(check["ok"] for check in checks.values())
    assert report["compiled"] == [] and checks["compiled"]["note"]  # from source: all Python
    assert "applied, repeats recognised" in checks["ingest"]["detail"]
    assert checks["page"]["detail"].startswith(("/ is HTML", "/docs is HTML"))
    assert "no DISPLAY" in checks["tray"]["detail"] and checks["tray"]["note"]
    # Each check also has a line of its own on stderr.
    assert "ok   ingest:" in done.stderr


def test_compiled_modules_are_listed_and_a_package_mixing_both_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.machinery
    import types

    def module(name: str, file: str) -> None:
        fake = types.ModuleType(name)
        fake.__file__ = file
        monkeypatch.setitem(sys.modules, name, fake)

    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    module("companion.fakepkg", "/x/companion/fakepkg/__init__.py")
    module("companion.fakepkg.fast", f"/x/companion/fakepkg/fast{suffix}")
    report = Report()
    check = selftest.check_compiled(report)
    assert check.ok and report.compiled == ["companion.fakepkg.fast"]
    assert "1 modules in ['companion.fakepkg']" in check.detail
    module("companion.fakepkg.slow", "/x/companion/fakepkg/slow.py")
    check = selftest.check_compiled(Report())
    assert not check.ok and "companion.fakepkg.slow" in check.detail


def test_the_verdict_names_failures_and_notes() -> None:
    report = Report(checks=[Check("health", True, "ok"), Check("page", False, "no HTML")])
    report.checks.append(Check("tray", True, "no tray here", note=True))
    verdict = report.verdict()
    assert not report.ok
    assert verdict.startswith("companion selftest FAIL: ")
    assert "failed: page: no HTML" in verdict
    assert "note: tray: no tray here" in verdict
    assert "\n" not in verdict


def test_a_failed_start_exits_1_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def no_start(data_dir: Path) -> Any:
        raise OSError("address already in use")

    monkeypatch.setattr(selftest, "_start_app", no_start)
    # Keep this process free of pystray (its import picks a backend for good).
    monkeypatch.setattr(selftest, "check_tray", lambda: Check("tray", True, "skipped"))
    code = selftest.run_selftest(tmp_path / "report.json")
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith("companion selftest FAIL: ")
    assert "start: the app did not start: OSError: address already in use" in out
    assert json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))["ok"] is False


class FakeHttp:
    """Canned answers by path, standing in for the app's HTTP server."""

    def __init__(self, answers: dict[str, tuple[int, str, bytes]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def request(
        self, method: str, path: str, body: Any = None
    ) -> tuple[int, dict[str, str], bytes]:
        self.asked.append(path)
        status, kind, content = self.answers.get(path, (404, "application/json", b"{}"))
        return status, {"content-type": kind}, content


PAGE = b"""<!doctype html><html><head>
<link rel="stylesheet" href="/static/app.css"><link rel="canonical" href="/elsewhere">
<script src="/static/app.js"></script><script src="https://cdn.example/x.js"></script>
<link rel="icon" href="//cdn.example/favicon.png"></head><body><img src="/static/logo.png#x">
</body></html>"""


def test_the_page_check_prefers_the_dashboard_and_loads_its_local_assets() -> None:
    http = FakeHttp(
        {
            "/": (200, "text/html; charset=utf-8", PAGE),
            "/static/app.css": (200, "text/css", b"body{}"),
            "/static/app.js": (200, "text/javascript", b"1"),
            "/static/logo.png": (200, "image/png", b"png"),
        }
    )
    assert selftest.check_page(http) == "/ is HTML; 3 linked assets load"  # type: ignore[arg-type]
    assert "/docs" not in http.asked and "/elsewhere" not in http.asked


def test_the_page_check_falls_back_to_docs_and_names_a_missing_asset() -> None:
    docs = b'<html><script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script></html>'
    http = FakeHttp(
        {
            "/docs": (200, "text/html", docs),
            "/openapi.json": (200, "application/json", b"{}"),
        }
    )
    with pytest.raises(SelftestFailure, match=r"/docs links to missing files: /static/vendor/"):
        selftest.check_page(http)  # type: ignore[arg-type]


def test_no_page_at_all_fails() -> None:
    with pytest.raises(SelftestFailure, match="neither / nor /docs"):
        selftest.check_page(FakeHttp({}))  # type: ignore[arg-type]


def test_a_build_missing_a_module_or_a_data_file_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = {"version": __version__, "modules": ["companion.paths"], "data_files": []}
    monkeypatch.setattr(selftest, "_manifest", lambda: manifest)
    assert selftest.check_modules() == "1 modules import, 0 data files present"
    manifest["modules"] = ["companion.paths", "companion.not_bundled"]
    with pytest.raises(SelftestFailure, match=r"1 modules do not import: companion.not_bundled"):
        selftest.check_modules()
    manifest["modules"] = ["companion.paths"]
    manifest["data_files"] = ["web/static/vendor/swagger-ui/swagger-ui.css", "web/gone.css"]
    with pytest.raises(SelftestFailure, match=r"1 data files missing: web/gone.css"):
        selftest.check_modules()


def test_the_source_tree_check_imports_every_module() -> None:
    detail = selftest.check_modules()
    assert detail.endswith("(source tree: no build manifest to check files against)")
    assert "companion.selftest" in selftest._source_modules()
    assert "companion.__main__" not in selftest._source_modules()


def test_finding_the_tray_backends_does_not_import_pystray() -> None:
    # In a fresh interpreter: importing pystray starts a backend, which is what must not happen.
    code = (
        "import sys; from companion.selftest import _submodule_present as present; "
        "print(present('pystray', '_xorg'), present('pystray', '_nothing'), "
        "'pystray' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=app_environment(),
        timeout=60,
    )
    assert done.stdout.split() == ["True", "False", "False"], done.stderr
