"""``companion --selftest``: is this installation whole and working? One command, one verdict.

It starts the real app (writer, worker, HTTP server; the game feed off) on a free port in a
throwaway data folder, then checks, through HTTP as any client would:

- ``health``: ``GET /api/v1/health`` answers with this version;
- ``ingest``: a small batch posted to ``POST /api/v1/events`` is acknowledged, applied (queue
  depth back to 0) and listed by ``GET /api/v1/journal`` as applied; posted again it is all
  duplicates;
- ``page``: ``GET /`` if it serves HTML, else ``/docs``; every local script, stylesheet and image
  it links answers 200;
- ``modules``: every companion module imports (and, in a built app, every data file the source
  tree had is there), which is what finds a missing hidden import or data file in a PyInstaller
  build;
- ``compiled``: which modules run as C extensions (the executable's derivation is compiled
  with mypyc, see ``packaging/compile_derivation.py``); Python modules beside compiled ones in a
  package would mean a build that mixes the two. From source nothing is compiled, which is fine;
- ``tray``: pystray's backends for this OS are present and ``import pystray`` picks one. A failed
  import where no desktop is running (no ``DISPLAY``) is a note, not a failure: the app then runs
  without an icon and prints the dashboard's address.

Per-check lines go to stderr, the one-line verdict to stdout; the exit code is 0 (pass) or 1.
``--selftest=PATH`` also writes the result as JSON to PATH, for windowed builds (Windows, macOS)
where stdout goes nowhere. Nothing here touches the user's data, logs or config.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import json
import logging
import os
import pkgutil
import re
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import companion
from companion import __version__

log = logging.getLogger(__name__)

WAIT_S = 10.0
"""Upper bound for the app to apply the events (generous: CI machines are slow and shared)."""
MANIFEST_NAME = "build-manifest.json"
"""Written into the package by ``packaging/companion.spec``: the source tree's modules and
data files, so a build can check itself against what it was built from."""

_PYSTRAY_BACKENDS = {
    "win32": ("win32",),
    "darwin": ("darwin",),
}
_LINUX_BACKENDS = ("appindicator", "gtk", "xorg")
_HTML_TYPES = ("text/html",)


@dataclass
class Check:
    """The result of one check; ``note`` marks something worth knowing that is not a failure."""

    name: str
    ok: bool
    detail: str
    note: bool = False


@dataclass
class Report:
    """Everything the selftest found, in the order it checked."""

    version: str = __version__
    frozen: bool = field(default_factory=lambda: bool(getattr(sys, "frozen", False)))
    platform: str = sys.platform
    checks: list[Check] = field(default_factory=list)
    seconds: float = 0.0
    compiled: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def verdict(self) -> str:
        """The one line: PASS or FAIL, what failed, and the notes."""
        kind = "built app" if self.frozen else "source"
        head = f"companion selftest {'PASS' if self.ok else 'FAIL'}: {self.version} ({kind}, "
        head += f"{self.platform}), {len(self.checks)} checks in {self.seconds:.1f} s"
        failed = [f"{c.name}: {c.detail}" for c in self.checks if not c.ok]
        notes = [f"{c.name}: {c.detail}" for c in self.checks if c.ok and c.note]
        parts = [head]
        if failed:
            parts.append("failed: " + "; ".join(failed))
        if notes:
            parts.append("note: " + "; ".join(notes))
        return " | ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "verdict": self.verdict(),
            "version": self.version,
            "frozen": self.frozen,
            "platform": self.platform,
            "seconds": round(self.seconds, 3),
            "compiled": self.compiled,
            "checks": [asdict(check) for check in self.checks],
        }


class SelftestFailure(Exception):
    """A check found something wrong; the message says what, for the player."""


class _Http:
    """A tiny HTTP client for the app's loopback address (stdlib only; never uses a proxy)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        # An empty ProxyHandler: a system proxy must not see (or break) loopback requests.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def request(
        self, method: str, path: str, body: Any = None
    ) -> tuple[int, dict[str, str], bytes]:
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with self._opener.open(req, timeout=WAIT_S) as response:
                headers = {k.lower(): v for k, v in response.headers.items()}
                return response.status, headers, response.read()
        except urllib.error.HTTPError as exc:
            headers = {k.lower(): v for k, v in exc.headers.items()}
            return exc.code, headers, exc.read()

    def json(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        status, _, content = self.request(method, path, body)
        if status != expect:
            raise SelftestFailure(
                f"{method} {path} answered {status}, not {expect}: {content[:200]!r}"
            )
        return json.loads(content)


class _Links(HTMLParser):
    """Collects the local assets a page loads (scripts, stylesheets, images, icons)."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        wanted = {"script": "src", "img": "src", "link": "href"}.get(tag)
        target = values.get(wanted) if wanted else None
        if tag == "link" and (values.get("rel") or "") not in ("stylesheet", "icon", "preload"):
            return
        if target and target.startswith("/") and not target.startswith("//"):
            self.links.append(target.split("#")[0])


def check_health(http: _Http) -> str:
    answer = http.json("GET", "/api/v1/health")
    if answer.get("status") != "ok" or answer.get("version") != __version__:
        raise SelftestFailure(f"unexpected health answer {answer}")
    return f"ok, version {answer['version']}"


def check_ingest(http: _Http) -> str:
    """Post a batch, wait until it is applied, read it back from the journal, post it again."""
    stream = f"selftest-{os.getpid()}"
    batch = [
        {"source": "selftest", "stream": stream, "seq": 1, "event": "SelftestStart", "data": {}},
        {"Event": "GoalScored", "Data": {}, "source": "selftest", "stream": stream, "seq": 2},
        {"source": "selftest", "stream": stream, "seq": 3, "event": "SelftestEnd", "data": {}},
    ]
    answer = http.json("POST", "/api/v1/events", batch, expect=202)
    ids = answer.get("ids")
    if answer.get("accepted") != len(batch) or not isinstance(ids, list) or len(ids) != 3:
        raise SelftestFailure(f"ingest answered {answer}")
    deadline = time.monotonic() + WAIT_S
    while True:
        status = http.json("GET", "/api/v1/status")
        if status.get("queue_depth") == 0:
            break
        if time.monotonic() > deadline:
            raise SelftestFailure(f"queue depth still {status.get('queue_depth')} after {WAIT_S} s")
        time.sleep(0.05)
    rows = http.json("GET", "/api/v1/journal?after=0&limit=100")["rows"]
    mine = {row["id"]: row for row in rows if row.get("stream") == stream}
    missing = [i for i in ids if i not in mine or not mine[i].get("applied")]
    if missing:
        raise SelftestFailure(f"journal rows {missing} missing or not applied")
    again = http.json("POST", "/api/v1/events", batch, expect=202)
    if again.get("duplicates") != len(batch) or again.get("ids") != ids:
        raise SelftestFailure(f"a repeated batch was not recognised as duplicates: {again}")
    return f"{len(batch)} events journaled as {ids}, applied, repeats recognised"


def check_page(http: _Http) -> str:
    """``/`` when it is a page, else ``/docs``: HTML, and every local asset it loads answers."""
    chosen = ""
    for path in ("/", "/docs"):
        status, headers, content = http.request("GET", path)
        if status == 200 and headers.get("content-type", "").startswith(_HTML_TYPES):
            chosen = path
            break
    if not chosen:
        raise SelftestFailure("neither / nor /docs serves an HTML page")
    text = content.decode("utf-8", "replace")
    if "<html" not in text.lower():
        raise SelftestFailure(f"{chosen} is not an HTML document")
    parser = _Links()
    parser.feed(text)
    links = sorted(set(parser.links))
    if chosen == "/docs":
        links.append("/openapi.json")  # Swagger UI loads it from its script
    broken = []
    for link in links:
        status, _, body = http.request("GET", link)
        if status != 200 or not body:
            broken.append(f"{link} ({status})")
    if broken:
        raise SelftestFailure(f"{chosen} links to missing files: {', '.join(broken)}")
    return f"{chosen} is HTML; {len(links)} linked assets load"


def _manifest() -> dict[str, Any] | None:
    path = Path(companion.__file__).with_name(MANIFEST_NAME)
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        return None
    return value if isinstance(value, dict) else None


def _source_modules() -> list[str]:
    """The package and every module in it (``__main__`` modules run things, so not those)."""
    found = pkgutil.walk_packages(companion.__path__, "companion.")
    return sorted(["companion", *(m.name for m in found if not m.name.endswith("__main__"))])


def check_modules() -> str:
    """Import every companion module; in a build, also find every data file it was built with."""
    manifest = _manifest()
    names = list(manifest["modules"]) if manifest else _source_modules()
    failed = []
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:
            failed.append(f"{name} ({type(exc).__name__}: {exc})")
    package_dir = Path(companion.__file__).parent
    files = manifest["data_files"] if manifest else []
    missing = [rel for rel in files if not (package_dir / rel).exists()]
    if failed:
        raise SelftestFailure(f"{len(failed)} modules do not import: {', '.join(failed[:5])}")
    if missing:
        raise SelftestFailure(f"{len(missing)} data files missing: {', '.join(missing[:5])}")
    if manifest:
        return f"{len(names)} modules import, {len(manifest['data_files'])} data files present"
    return f"{len(names)} modules import (source tree: no build manifest to check files against)"


def compiled_modules() -> list[str]:
    """The companion modules imported so far that are C extensions, not Python (sorted)."""
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    return sorted(
        name
        for name, module in list(sys.modules.items())
        if name.startswith("companion.") and str(getattr(module, "__file__", "")).endswith(suffixes)
    )


def check_compiled(report: Report) -> Check:
    """After ``check_modules``: which modules are compiled. Python modules beside compiled ones
    in the same package are a failure (a half-compiled build derives with two codes)."""
    report.compiled = compiled = compiled_modules()
    if not compiled:
        return Check("compiled", True, "none: every module runs as Python", note=True)
    packages = {name.rpartition(".")[0] for name in compiled}
    python = sorted(
        name
        for name, module in list(sys.modules.items())
        if name.rpartition(".")[0] in packages
        and name not in compiled
        and not str(getattr(module, "__file__", "")).endswith("__init__.py")
    )
    if python:
        return Check("compiled", False, f"compiled and Python modules mixed: {python[:5]}")
    return Check("compiled", True, f"{len(compiled)} modules in {sorted(packages)} (mypyc)")


def _submodule_present(package: str, name: str) -> bool:
    """Whether ``package.name`` can be found, without importing ``package`` (importing pystray
    already picks and starts a backend)."""
    spec = importlib.util.find_spec(package)  # a top-level name: this imports nothing
    if spec is None:
        return False
    locations = spec.submodule_search_locations
    for finder in sys.meta_path:  # PyInstaller's importer is one of them in a built app
        find_spec = getattr(finder, "find_spec", None)
        if find_spec is not None and find_spec(f"{package}.{name}", locations) is not None:
            return True
    return False


def check_tray() -> Check:
    """pystray's backends for this OS are present, and which one ``import pystray`` picks."""
    expected = _PYSTRAY_BACKENDS.get(sys.platform, _LINUX_BACKENDS)
    absent = [b for b in expected if not _submodule_present("pystray", f"_{b}")]
    if absent:
        return Check("tray", False, f"pystray backends missing from this build: {absent}")
    try:
        import pystray
    except Exception as exc:  # python-xlib raises its own error types, not only ImportError
        reason = f"{type(exc).__name__}: {exc}".strip()
        if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
            return Check(
                "tray",
                True,
                f"no tray here (no DISPLAY; pystray: {reason}); companion runs headless and "
                "prints its dashboard address",
                note=True,
            )
        return Check("tray", False, f"import pystray failed: {reason}")
    backend = pystray.Icon.__module__.rsplit("._", 1)[-1]
    menu = "with a menu" if pystray.Icon.HAS_MENU else "without a menu (install PyGObject)"
    return Check("tray", True, f"pystray backend {backend}, {menu}", note=not pystray.Icon.HAS_MENU)


@dataclass
class _Running:
    base_url: str
    stop: Callable[[], None]


def _start_app(data_dir: Path) -> _Running:
    """The real app, hermetic: defaults only (no config file, no COMPANION_* environment)."""
    from companion.app import CompanionApp
    from companion.paths import Paths
    from companion.settings import Settings

    app = CompanionApp(Settings(port=0, game=False), Paths.resolve(data_dir))
    app.start()
    return _Running(app.url, app.stop)


def _run_check(report: Report, name: str, body: Callable[[], str]) -> None:
    try:
        report.checks.append(Check(name, True, body()))
    except SelftestFailure as exc:
        report.checks.append(Check(name, False, str(exc)))
    except Exception as exc:
        log.exception("selftest check %s crashed", name)
        report.checks.append(Check(name, False, f"unexpected {type(exc).__name__}: {exc}"))


def _lines(report: Report) -> Iterator[str]:
    for check in report.checks:
        mark = "ok  " if check.ok and not check.note else "note" if check.ok else "FAIL"
        yield f"  {mark} {check.name}: {check.detail}"


def run_selftest(report_path: Path | None = None) -> int:
    """Run every check, print the per-check lines (stderr) and the verdict (stdout); 0 or 1."""
    from companion.logs import configure_logging

    began = time.monotonic()
    report = Report()
    root_level = logging.getLogger().level
    # Leftovers must not turn a pass into a crash: on Windows a file still held open (by an
    # antivirus scan of the new database, say) cannot be deleted yet.
    with tempfile.TemporaryDirectory(
        prefix="companion-selftest-", ignore_cleanup_errors=True
    ) as folder:
        data_dir = Path(folder)
        # The app's log stays in the throwaway folder; its tail explains a failure.
        configure_logging(data_dir / "logs" / "companion.log", "warning", to_stderr=False)
        running: _Running | None = None
        try:
            running = _start_app(data_dir)
            report.checks.append(Check("start", True, f"listening at {running.base_url}"))
        except Exception as exc:
            detail = "".join(traceback.format_exception_only(exc)).strip()
            report.checks.append(Check("start", False, f"the app did not start: {detail}"))
        if running is not None:
            http = _Http(running.base_url)
            try:
                _run_check(report, "health", lambda: check_health(http))
                _run_check(report, "ingest", lambda: check_ingest(http))
                _run_check(report, "page", lambda: check_page(http))
            finally:
                try:
                    running.stop()
                except Exception as exc:
                    report.checks.append(Check("stop", False, f"clean stop failed: {exc}"))
        _run_check(report, "modules", check_modules)
        report.checks.append(check_compiled(report))
        report.checks.append(check_tray())
        report.seconds = time.monotonic() - began
        if not report.ok:
            tail = _log_tail(data_dir / "logs" / "companion.log")
            if tail:
                report.checks.append(Check("log", True, tail, note=True))
        # Close the log file before its folder goes (Windows cannot delete an open file).
        configure_logging(None, "warning", to_stderr=False)
        logging.getLogger().setLevel(root_level)
    sys.stderr.write("".join(line + "\n" for line in _lines(report)))
    sys.stderr.flush()
    sys.stdout.write(report.verdict() + "\n")
    sys.stdout.flush()
    if report_path is not None:
        report_path.write_text(json.dumps(report.as_dict(), indent=2) + "\n", encoding="utf-8")
    return 0 if report.ok else 1


def _log_tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    kept = [line for line in text.splitlines() if re.match(r"\d{4}-", line)]
    return " / ".join(kept[-lines:])
