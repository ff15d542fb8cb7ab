"""The tray's process behaviour where no tray can be shown: the headless fallback (said once,
dashboard opened on the first start) without a display or on an X desktop without a tray, and the
second launch that opens the running instance's dashboard.

The browser is the one fake: ``$BROWSER`` (honoured by Python's ``webbrowser``) points at a script
that records the link it was given.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.processes import AppProcess, app_environment, start_app, stop_app

pytestmark = pytest.mark.slow
WAIT_S = 15.0


@pytest.fixture
def browser(tmp_path: Path) -> tuple[Path, Path]:
    """A fake browser: it appends each link it is asked to open to a file."""
    record = tmp_path / "opened.txt"
    script = tmp_path / "browser.sh"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> "{record}"\n', encoding="utf-8")
    script.chmod(0o755)
    return script, record


def no_display_env(browser_script: Path) -> dict[str, str]:
    env = app_environment({"BROWSER": str(browser_script)})
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "PYSTRAY_BACKEND"):
        env.pop(name, None)
    return env


def start_with_tray(data_dir: Path, env: dict[str, str], *args: str) -> AppProcess:
    """Start companion as a player does (no ``--no-tray``) and wait until it answers.
    ``args`` replace ``--no-game`` (for example ``--game-port N``)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log = (data_dir.parent / f"{data_dir.name}-output.txt").open("w+b")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "companion",
            "--data-dir",
            str(data_dir),
            "--port",
            "0",
            *(args or ("--no-game",)),
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    app = AppProcess(process, data_dir, 0, "", log)
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline and process.poll() is None:
        try:
            info = (data_dir / "server.json").read_text(encoding="utf-8")
        except OSError:
            info = ""
        if f'"pid": {process.pid},' in info:
            port = int(info.split('"port": ')[1].split(",")[0])
            app.port, app.base_url = port, f"http://127.0.0.1:{port}"
            try:
                if httpx.get(app.base_url + "/api/v1/health", timeout=2).status_code == 200:
                    return app
            except httpx.HTTPError:
                pass
        time.sleep(0.05)
    stop_app(app)
    raise AssertionError("companion did not start:\n" + app.output)


def wait_for_lines(path: Path, count: int) -> list[str]:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if path.exists():
            lines = path.read_text(encoding="utf-8").splitlines()
            if len(lines) >= count:
                return lines
        time.sleep(0.05)
    raise AssertionError(f"the browser was not opened {count} time(s)")


def assert_logs_in(url: str, app: AppProcess) -> None:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == app.base_url and parts.path == "/auth"
    token = (app.data_dir / "token").read_text(encoding="ascii").strip()
    assert parse_qs(parts.query) == {"token": [token], "next": ["/"]}
    response = httpx.get(url, follow_redirects=False, timeout=5)
    assert response.status_code == 303 and "companion_session=" in response.headers["set-cookie"]


def test_without_a_display_it_says_so_once_and_opens_the_dashboard_on_first_start(
    tmp_path: Path, browser: tuple[Path, Path]
) -> None:
    script, record = browser
    env = no_display_env(script)
    app = start_with_tray(tmp_path / "data", env)
    try:
        (url,) = wait_for_lines(record, 1)
        assert_logs_in(url, app)
        assert app.running
    finally:
        code = stop_app(app)
    assert code == 0
    said = [line for line in app.output.splitlines() if "no tray icon" in line]
    assert said == [
        f"companion: no tray icon (no graphical display); running without one; "
        f"dashboard: {app.base_url}/"
    ]
    assert "companion stopped" in app.output
    assert not (app.data_dir / "server.json").exists()

    # The next start of the same installation does not open the browser again.
    again = start_with_tray(tmp_path / "data", env)
    try:
        time.sleep(1.5)  # the first start opened the browser well within this
        assert again.running
    finally:
        assert stop_app(again) == 0
    assert len(record.read_text(encoding="utf-8").splitlines()) == 1


def test_a_second_launch_opens_the_running_dashboard_and_exits_0(
    tmp_path: Path, browser: tuple[Path, Path]
) -> None:
    script, record = browser
    env = no_display_env(script)
    data_dir = tmp_path / "data"
    first = start_app(data_dir)
    try:
        second = subprocess.run(
            [sys.executable, "-m", "companion", "--data-dir", str(data_dir), "--no-game"],
            env=env,
            capture_output=True,
            text=True,
            timeout=WAIT_S,
        )
        assert second.returncode == 0, second.stdout + second.stderr
        assert f"companion is already running at {first.base_url}/" in second.stdout
        (url,) = wait_for_lines(record, 1)
        assert_logs_in(url, first)

        headless = subprocess.run(
            [sys.executable, "-m", "companion", "--data-dir", str(data_dir), "--no-tray"],
            env=env,
            capture_output=True,
            text=True,
            timeout=WAIT_S,
        )
        assert headless.returncode == 3
        assert "already running" in headless.stderr
        assert first.running
    finally:
        assert stop_app(first) == 0
    assert len(record.read_text(encoding="utf-8").splitlines()) == 1


def run_fallback(
    tmp_path: Path, env: dict[str, str], browser: tuple[Path, Path], reason: str
) -> None:
    """Start companion where no tray can be shown; it must say ``reason`` once, keep serving and
    open the dashboard (first start), then stop cleanly on SIGTERM."""
    script, opened = browser
    app = start_with_tray(tmp_path / "data", {**app_environment(), **env, "BROWSER": str(script)})
    try:
        (url,) = wait_for_lines(opened, 1)
        assert_logs_in(url, app)
    finally:
        assert stop_app(app) == 0
    said = [line for line in app.output.splitlines() if "no tray icon" in line]
    assert len(said) == 1 and f"({reason}" in said[0], app.output


@pytest.mark.parametrize("backend", ["gtk", "appindicator"])
def test_a_desktop_without_a_tray_runs_without_one(
    tmp_path: Path, browser: tuple[Path, Path], backend: str
) -> None:
    if shutil.which("Xvfb") is None:
        pytest.skip("needs Xvfb")
    read_end, write_end = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    try:
        with os.fdopen(read_end) as numbers:
            display = ":" + numbers.readline().strip()
        env = {"DISPLAY": display, "PYSTRAY_BACKEND": backend}
        run_fallback(tmp_path, env, browser, "no system tray is running on this desktop")
    finally:
        xvfb.terminate()
        xvfb.wait(10)
