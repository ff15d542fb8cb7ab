"""Run the real companion app as a subprocess, for tests that need a whole process.

``start_app(data_dir)`` starts ``python -m companion --no-tray --no-game --data-dir DIR --port 0``
with this interpreter, waits (bounded) until ``DIR/server.json`` names this process and
``GET /api/v1/health`` answers 200, and returns an ``AppProcess`` with the process, port and base
URL. ``stop_app`` asks for a clean exit (SIGTERM, killing only if it does not come in time);
``kill_app`` is ``kill -9``. Both wait for the process, so nothing is left running or unreaped.
``running_app`` wraps start and stop in a context manager.

The app's stdout and stderr go to a temporary file; ``AppProcess.output`` holds them once the
process has ended (and start-up errors quote them).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0
_POLL_S = 0.05
_REPO_ROOT = Path(__file__).resolve().parents[1]


class AppStartError(RuntimeError):
    """The app exited or did not become healthy in time; the message quotes its output."""


@dataclass
class AppProcess:
    """A companion process started by ``start_app``."""

    process: subprocess.Popen[bytes]
    data_dir: Path
    port: int
    base_url: str
    _output_file: IO[bytes] | None = field(default=None, repr=False)
    output: str = ""

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def url(self, path: str) -> str:
        return self.base_url + path

    def read_output(self) -> str:
        """What the process wrote to stdout and stderr so far."""
        if self._output_file is None:
            return self.output
        self._output_file.flush()
        self._output_file.seek(0)
        return self._output_file.read().decode("utf-8", "replace")

    def _finish(self) -> int:
        """Reap the process (it must be ending) and keep its output; returns the exit code."""
        code = self.process.wait()
        if self._output_file is not None:
            self.output = self.read_output()
            self._output_file.close()
            self._output_file = None
        return code


def app_command(data_dir: Path, *extra_args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "companion",
        "--no-tray",
        "--no-game",
        "--data-dir",
        str(data_dir),
        "--port",
        "0",
        *extra_args,
    ]


def app_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This environment without ``COMPANION_*`` settings (hermetic), plus ``extra``; this
    checkout first on ``PYTHONPATH`` so the app under test is the one beside the tests."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("COMPANION_")}
    env["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(_REPO_ROOT), env.get("PYTHONPATH", "")) if part
    )
    env.update(extra or {})
    return env


def _server_info(data_dir: Path) -> dict[str, object] | None:
    try:
        value = json.loads((data_dir / "server.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _healthy(base_url: str) -> bool:
    try:
        response = httpx.get(base_url + "/api/v1/health", timeout=2.0)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def start_app(
    data_dir: Path,
    *extra_args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = START_TIMEOUT_S,
) -> AppProcess:
    """Start companion on ``data_dir`` (any free port) and wait until it answers health checks.

    A ``server.json`` left behind by a killed instance is ignored until this process has
    rewritten it (its ``pid`` must match). Raises ``AppStartError`` (after killing the process)
    if it exits or is not healthy within ``timeout`` seconds.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    # Closed by AppProcess._finish (stop_app / kill_app), so it outlives this function.
    output = tempfile.TemporaryFile()  # noqa: SIM115
    try:
        process = subprocess.Popen(
            app_command(data_dir, *extra_args),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=app_environment(env),
        )
    except BaseException:
        output.close()
        raise
    app = AppProcess(process, data_dir, 0, "", output)
    deadline = time.monotonic() + timeout
    try:
        while True:
            if process.poll() is not None:
                code = app._finish()
                raise AppStartError(
                    f"companion exited with code {code} during start-up:\n{app.output}"
                )
            info = _server_info(data_dir)
            if info is not None and info.get("pid") == process.pid:
                port = info.get("port")
                if isinstance(port, int) and port > 0:
                    app.port = port
                    app.base_url = f"http://127.0.0.1:{port}"
                    if _healthy(app.base_url):
                        return app
            if time.monotonic() > deadline:
                raise AppStartError(
                    f"companion did not become healthy within {timeout:.0f} s:\n"
                    + app.read_output()
                )
            time.sleep(_POLL_S)
    except BaseException:
        kill_app(app)
        raise


def kill_app(app: AppProcess) -> int:
    """``kill -9`` (SIGKILL) the app (if it still runs) and reap it; returns the exit code."""
    if app.process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            app.process.kill()
    return app._finish()


def stop_app(app: AppProcess, timeout: float = STOP_TIMEOUT_S) -> int:
    """Ask the app to quit (SIGTERM), wait up to ``timeout`` s, else kill it; returns the code."""
    if app.process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            app.process.terminate()
        try:
            app.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return kill_app(app)
    return app._finish()


@contextlib.contextmanager
def running_app(
    data_dir: Path,
    *extra_args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = START_TIMEOUT_S,
) -> Iterator[AppProcess]:
    """``start_app`` … ``stop_app``; the process is stopped (or killed) however the block ends."""
    app = start_app(data_dir, *extra_args, env=env, timeout=timeout)
    try:
        yield app
    finally:
        stop_app(app)
