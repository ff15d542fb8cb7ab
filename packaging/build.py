"""Build companion's one-folder executable with PyInstaller, smoke-test it, zip it.

The same command on every OS (it builds for the OS it runs on; PyInstaller does not cross-build):

    python packaging/build.py                   # build dist/companion/ (and dist/Companion.app)
    python packaging/build.py --smoke           # build, then smoke-test the built app
    python packaging/build.py --smoke --no-build   # smoke-test the app already in dist/
    python packaging/build.py --zip             # also zip it into artifacts/ with its SHA-256
    python packaging/build.py --no-build --measure 7   # start-up time (median of 7) and size
    python packaging/build.py --pure            # without compiling the derivation (no C compiler)

The derivation (``companion.derive``, ``companion.tickblock``) ships compiled to C with mypyc
(``compile_derivation.py``): the same source, 2 to 2.5 times faster in the live worker and
in ``companion rebuild``. The smoke test checks the built app runs exactly those modules compiled.

The smoke test is what CI runs (``.ci/run``, and each job of the release workflow):

1. ``<app> --selftest=REPORT``: the app checks itself (health, ingest end to end, a page and its
   assets, every module and data file it was built from, which modules are compiled, the tray
   backend); exit 0 required.
2. The built app runs headless (``--no-tray``) in a throwaway data folder, its own ``simulate``
   subcommand plays a synthesised match into its game feed, and ``GET /api/v1/matches`` must
   show that match complete with the score the simulator sent. Then ``POST /api/v1/quit``
   (with the data folder's token) must stop it cleanly, exit code 0.

Stdlib only, so it runs with any Python that has PyInstaller installed (``pip install -e
'.[build]'``). Everything it starts is on 127.0.0.1 with free ports and temporary folders.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import platform
import socket
import stat
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "packaging" / "companion.spec"
DIST = ROOT / "dist"
WORK = ROOT / "build" / "pyinstaller"
ARTIFACTS = ROOT / "artifacts"

START_TIMEOUT_S = 30.0
MATCH_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 20.0
SIZE_TARGET_BYTES = 80_000_000  # reported, not enforced: it is a target, and differs by OS
# One normal 2v2 match, synthesised (made-up players), sent as fast as the app reads it.
SIMULATED_MATCH = ["simulate", "--scenario", "normal", "--mode", "2v2", "--rate", "30"]
SIMULATED_MATCH += ["--seed", "8", "--speed", "0", "--once", "--quiet"]


class SmokeFailure(Exception):
    """The built app did not do what it must; the message says what."""


def say(line: str) -> None:
    sys.stdout.write(f"build.py: {line}\n")
    sys.stdout.flush()


def version() -> str:
    """companion.__version__ from the source tree (without importing the package)."""
    tree = ast.parse((ROOT / "companion" / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets
        ):
            return str(ast.literal_eval(node.value))
    raise SystemExit("companion/__init__.py has no __version__")


def app_folder(dist: Path = DIST) -> Path:
    """The folder that ships: ``Companion.app`` on macOS, ``companion/`` elsewhere."""
    return dist / "Companion.app" if sys.platform == "darwin" else dist / "companion"


def executable(dist: Path = DIST) -> Path:
    """The built executable inside the shipped folder."""
    if sys.platform == "darwin":
        return app_folder(dist) / "Contents" / "MacOS" / "companion"
    if sys.platform == "win32":
        return app_folder(dist) / "Companion.exe"
    return app_folder(dist) / "companion"


def platform_tag() -> str:
    """``linux-x86_64``, ``windows-x86_64``, ``macos-arm64``...: the artefact's platform."""
    system = {"win32": "windows", "darwin": "macos"}.get(sys.platform, sys.platform)
    machine = platform.machine().lower()
    machine = {"amd64": "x86_64", "aarch64": "arm64", "x64": "x86_64"}.get(machine, machine)
    return f"{system}-{machine}"


# --- build -------------------------------------------------------------------------------------


def build(dist: Path = DIST, work: Path = WORK, compiled: Path | None = None) -> float:
    """Run PyInstaller on the spec (clean); returns the seconds it took. ``compiled``: a folder
    from ``compile_derivation.py`` whose extensions ship instead of the same Python modules."""
    env = dict(os.environ)
    env.pop("COMPANION_COMPILED_DIR", None)
    if compiled is not None:
        env["COMPANION_COMPILED_DIR"] = str(compiled)
    # PyInstaller's pystray hook imports pystray to list its backends; on a build machine
    # without a display that import fails (Xlib), so let it pick the dummy backend here.
    env["PYSTRAY_BACKEND"] = "dummy"
    command = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--clean",
        "--log-level",
        "WARN",
        "--distpath",
        str(dist),
        "--workpath",
        str(work),
        str(SPEC),
    ]
    say("building: " + " ".join(command[2:]))
    began = time.monotonic()
    subprocess.run(command, check=True, env=env, cwd=ROOT)
    seconds = time.monotonic() - began
    check_warnings(work / "companion" / "warn-companion.txt")
    say(f"built {app_folder(dist)} in {seconds:.0f} s")
    return seconds


def missing_own_modules(warn_text: str) -> list[str]:
    """Lines of PyInstaller's warn file that are real holes: a module of companion missing, or
    a package companion imports at top level missing as a whole. The rest of that file is
    optional imports of libraries, other OSes' modules, and names imported from a package
    (``from pydantic import BaseModel`` is listed as a missing ``pydantic.BaseModel``); the
    selftest exercises what is left."""
    entries: list[tuple[str, str, list[str]]] = []
    for line in warn_text.splitlines():
        if line.startswith("missing module named "):
            name, _, by = line[len("missing module named ") :].partition(" - imported by ")
            entries.append((line, name.strip("'"), by.split(", ")))
    missing = {name for _, name, _ in entries}
    holes = []
    for line, name, importers in entries:
        own = name == "companion" or name.startswith("companion.")
        needed = any(part.startswith("companion") and "(top-level)" in part for part in importers)
        if own or (needed and name.split(".")[0] in missing):
            holes.append(line)
    return holes


def check_warnings(warn_file: Path) -> None:
    if not warn_file.exists():
        raise SmokeFailure(f"PyInstaller wrote no {warn_file}")
    holes = missing_own_modules(warn_file.read_text(encoding="utf-8", errors="replace"))
    if holes:
        found = "\n".join(holes)
        raise SmokeFailure(f"PyInstaller could not find modules companion needs:\n{found}")


# --- talking to the built app ----------------------------------------------------------------

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy


def http(method: str, url: str, token: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with _OPENER.open(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RunningApp:
    """The built app started headless on a data folder; output kept in a file."""

    def __init__(self, launcher: Sequence[str], data_dir: Path, *args: str) -> None:
        self.data_dir = data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self.output_path = data_dir.parent / f"{data_dir.name}.out"
        self._output = self.output_path.open("wb")
        command = [*launcher, "--no-tray", "--data-dir", str(data_dir), "--port", "0", *args]
        self.began = time.perf_counter()
        self.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=self._output, stderr=subprocess.STDOUT
        )
        self.base_url = ""

    def wait_ready(self, timeout: float = START_TIMEOUT_S, poll: float = 0.01) -> float:
        """Wait until ``server.json`` names this process and health answers; returns the
        seconds since launch."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SmokeFailure(f"the app exited ({self.process.returncode}):\n{self.output()}")
            try:
                info = json.loads((self.data_dir / "server.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                info = None
            if isinstance(info, dict) and info.get("pid") == self.process.pid:
                self.base_url = f"http://127.0.0.1:{info['port']}"
                try:
                    status, _ = http("GET", self.base_url + "/api/v1/health")
                except OSError:
                    status = 0
                if status == 200:
                    return time.perf_counter() - self.began
            time.sleep(poll)
        raise SmokeFailure(f"the app was not ready within {timeout:.0f} s:\n{self.output()}")

    def quit(self) -> int:
        """Stop through the control route (the same on every OS), else kill; the exit code."""
        try:
            token = (self.data_dir / "token").read_text(encoding="ascii").strip()
            if self.base_url and self.process.poll() is None:
                http("POST", self.base_url + "/api/v1/quit", token)
            code = self.process.wait(STOP_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            code = self.process.wait()
            say(f"the app did not stop by itself in {STOP_TIMEOUT_S:.0f} s and was killed")
            code = code or -9
        finally:
            self._output.close()
        return code

    def output(self) -> str:
        self._output.flush()
        text = self.output_path.read_text(encoding="utf-8", errors="replace")
        log = self.data_dir / "logs" / "companion.log"
        if log.exists():
            text += "\n--- companion.log ---\n" + log.read_text(encoding="utf-8", errors="replace")
        return text

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system, all threads) the process has used so far; Linux only."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def running(launcher: Sequence[str], data_dir: Path, *args: str) -> Iterator[RunningApp]:
    app = RunningApp(launcher, data_dir, *args)
    try:
        yield app
    finally:
        if app.process.poll() is None:
            app.process.kill()
            app.process.wait()
        if not app._output.closed:
            app._output.close()


# --- smoke test --------------------------------------------------------------------------------


def run_selftest(exe: Path, folder: Path) -> dict[str, Any]:
    """``<app> --selftest=REPORT``; the report (JSON, since windowed builds have no stdout)."""
    report_path = folder / "selftest.json"
    began = time.monotonic()
    done = subprocess.run(
        [str(exe), f"--selftest={report_path}"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
    )
    sys.stderr.write(done.stderr)
    try:
        report: dict[str, Any] = json.loads(report_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise SmokeFailure(
            f"--selftest exited {done.returncode} without a report:\n{done.stdout}{done.stderr}"
        ) from None
    say(f"selftest ({time.monotonic() - began:.1f} s, exit {done.returncode}): {report['verdict']}")
    if done.returncode != 0 or not report.get("ok"):
        raise SmokeFailure("the built app's selftest failed")
    return report


def play_match(exe: Path, folder: Path) -> dict[str, Any]:
    """The built app, headless, against its own simulator: one synthesised 2v2 match."""
    game_port = free_port()
    truth_path = folder / "truth.json"
    began = time.monotonic()
    with running([str(exe)], folder / "data", "--game-port", str(game_port)) as app:
        app.wait_ready()
        simulator = subprocess.run(
            [str(exe), *SIMULATED_MATCH, "--port", str(game_port), "--truth", str(truth_path)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=MATCH_TIMEOUT_S,
        )
        if simulator.returncode != 0:
            raise SmokeFailure(
                f"simulate exited {simulator.returncode}:\n{simulator.stdout}{simulator.stderr}"
            )
        sent = json.loads(truth_path.read_text(encoding="utf-8"))["matches"][0]
        match = wait_for_match(app, sent["guid"])
        scores = [team["score"] for team in sorted(match["teams"], key=lambda t: t["num"])]
        if scores != list(sent["team_scores"]) or match["winner_team"] != sent["winner"]:
            raise SmokeFailure(f"the app saw {scores} won by {match['winner_team']}, sent {sent}")
        code = app.quit()
        if code != 0:
            raise SmokeFailure(f"the app exited {code} after POST /api/v1/quit:\n{app.output()}")
        if (app.data_dir / "server.json").exists():
            raise SmokeFailure("server.json was left behind after a clean exit")
    say(
        f"headless app + simulator ({time.monotonic() - began:.1f} s): match {match['id']} "
        f"{match['mode']} on {match['arena']} {scores[0]}-{scores[1]}, {match['state']}, "
        "clean exit"
    )
    return match


def wait_for_match(app: RunningApp, guid: str) -> dict[str, Any]:
    deadline = time.monotonic() + MATCH_TIMEOUT_S
    while time.monotonic() < deadline:
        status, page = http("GET", app.base_url + "/api/v1/matches?limit=10")
        if status != 200:
            raise SmokeFailure(f"GET /api/v1/matches answered {status}:\n{app.output()}")
        for match in page["matches"]:
            if match["guid"] == guid and match["state"] == "complete":
                return dict(match)
        time.sleep(0.2)
    raise SmokeFailure(f"no complete match {guid} in /api/v1/matches:\n{app.output()}")


def smoke(dist: Path = DIST, compiled: list[str] | None = None) -> None:
    """Both smoke steps against the built app in ``dist``; raises ``SmokeFailure``.
    ``compiled``: the modules this build compiled, which the selftest must find compiled."""
    exe = executable(dist)
    if not exe.exists():
        raise SmokeFailure(f"no built app at {exe}; run python packaging/build.py first")
    with tempfile.TemporaryDirectory(
        prefix="companion-smoke-", ignore_cleanup_errors=True
    ) as folder:
        report = run_selftest(exe, Path(folder))
        if compiled is not None and report.get("compiled") != compiled:
            raise SmokeFailure(
                f"the built app runs {report.get('compiled')} compiled, not {compiled}"
            )
        play_match(exe, Path(folder))


# --- size and start-up time ------------------------------------------------------------------


def _walk_size(path: Path) -> int:
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size
    return sum(_walk_size(child) for child in path.iterdir())


def size_report(folder: Path, top: int = 12) -> tuple[int, list[tuple[str, int]]]:
    """Total bytes of the shipped folder (symlinks counted as links) and its biggest parts:
    what sits in the folder itself, inside ``_internal`` (or the bundle's ``Frameworks`` and
    ``Resources``) one by one."""
    containers = ("_internal", "Contents", "Frameworks", "Resources", "MacOS")
    parts: list[tuple[str, int]] = []
    for child in folder.rglob("*"):
        if child.is_symlink() or (child.is_dir() and child.name in containers):
            continue
        if child.parent == folder or child.parent.name in containers:
            parts.append((str(child.relative_to(folder)), _walk_size(child)))
    parts.sort(key=lambda item: -item[1])
    return _walk_size(folder), parts[:top]


def measure(launchers: dict[str, list[str]], runs: int) -> dict[str, list[tuple[float, float]]]:
    """Launch → ``/api/v1/health`` answers, ``runs`` times per launcher (taking turns, so a busy
    machine weighs on each alike), each in a fresh data folder: (seconds, CPU seconds used)."""
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in launchers}
    with tempfile.TemporaryDirectory(
        prefix="companion-startup-", ignore_cleanup_errors=True
    ) as folder:
        for index in range(runs):
            for name, launcher in launchers.items():
                with running(launcher, Path(folder) / f"{name}{index}", "--no-game") as app:
                    seconds = app.wait_ready(poll=0.005)
                    results[name].append((seconds, app.cpu_seconds() or 0.0))
                    app.quit()
    return results


# --- packaging -------------------------------------------------------------------------------


def zip_folder(folder: Path, archive: Path) -> None:
    """Zip ``folder`` (its name as the top folder), keeping symlinks as links and modes."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for path in sorted(folder.rglob("*")):
            name = str(Path(folder.name) / path.relative_to(folder)).replace(os.sep, "/")
            if path.is_symlink():
                info = zipfile.ZipInfo(name)
                info.create_system = 3  # Unix, so unzip restores the link
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                zf.writestr(info, os.readlink(path))
            elif path.is_dir():
                zf.write(path, name + "/")
            else:
                zf.write(path, name)  # keeps the file's mode (the executable bit)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package(dist: Path = DIST, out: Path = ARTIFACTS) -> Path:
    """``artifacts/companion-<version>-<os>-<arch>.zip`` and its ``.sha256`` beside it."""
    out.mkdir(parents=True, exist_ok=True)
    archive = out / f"companion-{version()}-{platform_tag()}.zip"
    archive.unlink(missing_ok=True)
    folder = app_folder(dist)
    if sys.platform == "darwin":  # ditto keeps the bundle's symlinks, modes and metadata
        subprocess.run(
            ["ditto", "-c", "-k", "--sequesterRsrc", "--keepParent", str(folder), str(archive)],
            check=True,
        )
    else:
        zip_folder(folder, archive)
    checksum = out / (archive.name + ".sha256")
    checksum.write_text(f"{sha256_of(archive)}  {archive.name}\n", encoding="ascii")
    say(f"wrote {archive} ({archive.stat().st_size / 1e6:.1f} MB) and {checksum.name}")
    return archive


# --- command line ----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-build", action="store_true", help="use the app already in --dist")
    parser.add_argument("--smoke", action="store_true", help="smoke-test the built app")
    parser.add_argument("--zip", action="store_true", help="zip it into artifacts/ with SHA-256")
    parser.add_argument("--measure", type=int, default=0, metavar="N", help="start-up time, N runs")
    parser.add_argument(
        "--measure-source",
        action="store_true",
        help="with --measure: also time python -m companion from this checkout, taking turns",
    )
    parser.add_argument(
        "--pure",
        action="store_true",
        help="do not compile the derivation with mypyc (no C compiler here): all Python",
    )
    parser.add_argument("--dist", type=Path, default=DIST)
    parser.add_argument("--work", type=Path, default=WORK)
    args = parser.parse_args(argv)
    began = time.monotonic()
    try:
        expected: list[str] | None = None  # modules the selftest must find compiled
        if not args.no_build:
            compiled = None
            if not args.pure:
                # Beside this script (run as a script, its folder is on sys.path).
                from compile_derivation import compile_package, compiled_modules

                compiled = compile_package()
                expected = compiled_modules(compiled)
            build(args.dist, args.work, compiled)
        total, parts = size_report(app_folder(args.dist))
        target = "within" if total <= SIZE_TARGET_BYTES else "OVER"
        say(
            f"size of {app_folder(args.dist)}: {total / 1e6:.1f} MB ({target} the "
            f"{SIZE_TARGET_BYTES / 1e6:.0f} MB target); biggest parts:"
        )
        for name, size in parts:
            sys.stdout.write(f"    {size / 1e6:7.1f} MB  {name}\n")
        if args.smoke:
            smoke(args.dist, expected)
        if args.measure:
            launchers = {"built app": [str(executable(args.dist))]}
            if args.measure_source:
                launchers["python -m companion"] = [sys.executable, "-m", "companion"]
            for name, found in measure(launchers, args.measure).items():
                times = [seconds for seconds, _ in found]
                cpu = statistics.median(cpu for _, cpu in found)
                say(
                    f"ready (launch to /api/v1/health 200), {name}, {len(times)} runs: median "
                    f"{statistics.median(times):.2f} s (min {min(times):.2f}, max "
                    f"{max(times):.2f}); CPU used by then, median {cpu:.2f} s"
                )
        if args.zip:
            package(args.dist)
    except (SmokeFailure, subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        say(f"FAILED: {exc}")
        return 1
    say(f"done in {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
