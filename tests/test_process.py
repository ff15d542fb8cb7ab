"""The real app as a process on a loopback port: start, stop in order, exit codes, restart."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.processes import app_command, app_environment, running_app, start_app, stop_app

pytestmark = pytest.mark.slow


def run_once(
    args: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, capture_output=True, text=True, timeout=30, env=app_environment(env)
    )


def wait_until_drained(base_url: str, timeout: float = 10.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        status: dict[str, object] = httpx.get(base_url + "/api/v1/status").json()
        if status["queue_depth"] == 0:
            return status
        assert time.monotonic() < deadline, f"queue did not drain: {status}"
        time.sleep(0.05)


def test_start_serve_and_stop_cleanly(tmp_path: Path) -> None:
    data = tmp_path / "data"
    app = start_app(data)
    try:
        assert (data / "server.json").exists()
        response = httpx.post(
            app.url("/api/v1/events"),
            json={"source": "proc", "seq": 1, "event": "E"},
        )
        assert response.status_code == 202
    finally:
        code = stop_app(app)
    assert code == 0, app.output
    assert f"running at {app.base_url}/" in app.output
    assert not (data / "server.json").exists()
    assert (data / "logs" / "companion.log").exists()
    assert "companion stopped" in (data / "logs" / "companion.log").read_text()


def test_second_instance_says_where_the_first_runs(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with running_app(data) as app:
        second = run_once(app_command(data))
        assert second.returncode == 3
        assert "already running" in second.stderr
        assert app.base_url in second.stderr
        assert httpx.get(app.url("/api/v1/health")).status_code == 200


def test_busy_port_is_a_one_line_error(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        result = run_once([*app_command(tmp_path / "data"), "--port", str(port)])
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("companion:")]
    assert len(lines) == 1
    assert f"port {port}" in lines[0] and "already in use" in lines[0]
    assert not (tmp_path / "data" / "server.json").exists()


def test_bad_setting_stops_start_up(tmp_path: Path) -> None:
    result = run_once(app_command(tmp_path / "data"), env={"COMPANION_SESSION_GAP_MINUTES": "x"})
    assert result.returncode == 2
    assert "COMPANION_SESSION_GAP_MINUTES" in result.stderr
    assert "an integer from 1 to 1440" in result.stderr


def test_damaged_database_stops_with_a_way_out(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "companion.db").write_bytes(b"\x00garbage" * 512)
    result = run_once(app_command(data))
    assert result.returncode == 1
    assert str(data / "companion.db") in result.stderr
    assert "companion db reset" in result.stderr
    assert (data / "companion.db").read_bytes() == b"\x00garbage" * 512
    reset = run_once([sys.executable, "-m", "companion", "--data-dir", str(data), "db", "reset"])
    assert reset.returncode == 0, reset.stderr
    [aside] = data.glob("companion.db.broken-*")
    assert aside.read_bytes() == b"\x00garbage" * 512
    with running_app(data) as app:
        assert httpx.get(app.url("/api/v1/health")).status_code == 200


def test_rows_accepted_before_a_stop_are_applied_after_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with running_app(data) as app:
        token = (data / "token").read_text().strip()
        auth = {"Authorization": f"Bearer {token}"}
        assert httpx.post(app.url("/api/v1/pause"), headers=auth).status_code == 200
        body = [{"source": "proc", "seq": n, "event": "E"} for n in range(100)]
        ids = httpx.post(app.url("/api/v1/events"), json=body).json()["ids"]
        assert httpx.get(app.url("/api/v1/status")).json()["queue_depth"] == 100
    with running_app(data) as app:
        status = wait_until_drained(app.base_url)
        assert status["applied_total"] == 100
        rows = httpx.get(app.url("/api/v1/journal"), params={"limit": 1000}).json()["rows"]
        assert [row["id"] for row in rows] == ids
        assert all(row["applied"] for row in rows)


def test_quit_route_stops_the_app(tmp_path: Path) -> None:
    data = tmp_path / "data"
    app = start_app(data)
    token = (data / "token").read_text().strip()
    response = httpx.post(app.url("/api/v1/quit"), headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 202
    assert app.process.wait(15) == 0
    stop_app(app)


def test_starts_without_standard_streams(tmp_path: Path) -> None:
    """A windowed build has sys.stdout and sys.stderr set to None: start-up must not crash."""
    data = tmp_path / "data"
    script = (
        "import sys; sys.stdout = None; sys.stderr = None\n"
        "from companion.cli import main\n"
        f"sys.exit(main(['--no-tray', '--no-game', '--data-dir', {str(data)!r}, '--port', '0']))\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], env=app_environment())
    try:
        deadline = time.monotonic() + 15
        while not (data / "server.json").exists():
            assert process.poll() is None, "the app exited"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        port = json.loads((data / "server.json").read_text())["port"]
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/health").status_code == 200
    finally:
        process.terminate()
        assert process.wait(15) == 0


def test_demo_plays_matches_into_a_throwaway_folder(tmp_path: Path) -> None:
    env = app_environment({"HOME": str(tmp_path / "home")})
    process = subprocess.Popen(
        [sys.executable, "-m", "companion", "--demo", "--no-tray"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "companion demo is running at http://127.0.0.1:" in line, line
        url = line.split(" at ", 1)[1].split("/ ", 1)[0]
        folder = Path(line.split("Throwaway data folder: ", 1)[1].split(". Ctrl+C", 1)[0])
        assert folder.is_dir() and not str(folder).startswith(str(tmp_path / "home"))
        deadline = time.monotonic() + 20
        while True:
            status = httpx.get(url + "/api/v1/status").json()
            if status["game_feed"]["state"] == "receiving" and status["accepted_total"] > 0:
                break
            assert time.monotonic() < deadline, status
            time.sleep(0.2)
        rows = httpx.get(url + "/api/v1/journal").json()["rows"]
        assert {row["source"] for row in rows} == {"statsapi"}
    finally:
        process.terminate()
        code = process.wait(20)
        if process.stdout is not None:
            process.stdout.close()
    assert code == 0
    assert not folder.exists(), "the throwaway folder is removed on exit"
    assert not (tmp_path / "home").exists(), "nothing was written to the user's folders"
