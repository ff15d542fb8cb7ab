"""The real tray under ``traybox`` (Xvfb, a tray panel, D-Bus, a notification daemon): pystray's
GTK backend docks companion's icon, the menu opens with the right texts while the simulator plays
a match, Queue and Last match follow the app, Pause toggles, Quit and SIGTERM end it with 0.

The menu's texts are read from screenshots with tesseract (OCR), so what is checked is what a
player would see. Screenshots are kept under ``artifacts/tray/``. These tests run inside a traybox
session when there is one (``traybox-icon`` on PATH), else start their own from
``../shared/tools/traybox``; without it, or without tesseract, they skip.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from companion.simulator import StatsApiServer, SynthOptions, synthesize
from tests import test_tray_process
from tests.conftest import SHARED
from tests.processes import AppProcess, app_environment, running_app, stop_app
from tests.test_tray_process import assert_logs_in, run_fallback, start_with_tray, wait_for_lines

browser = test_tray_process.browser  # the same fake browser fixture

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "artifacts" / "tray"
TRAYBOX = SHARED / "tools" / "traybox"
WAIT_S = 10.0
DESKTOP_VARS = ("DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "PYSTRAY_BACKEND", "PATH")
# Enabled items, as the keyboard reaches them (disabled lines and separators skipped).
PAUSE_ITEM, AUTOSTART_ITEM, QUIT_ITEM = 2, 3, 6


@pytest.fixture(scope="module")
def desktop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The variables of a traybox desktop: this one's, or a private one started for the module."""
    if shutil.which("tesseract") is None:
        pytest.skip("needs tesseract (Debian: tesseract-ocr) to read the menu")
    if shutil.which("traybox-icon"):
        yield {name: os.environ[name] for name in DESKTOP_VARS}
        return
    if not TRAYBOX.exists():
        pytest.skip("needs ../shared/tools/traybox")
    folder = tmp_path_factory.mktemp("traybox")
    env_file, pid_file = folder / "env", folder / "pid"
    script = f'echo $$ > "{pid_file}"; env -0 > "{env_file}.part" && mv "{env_file}.part" '
    script += f'"{env_file}"; exec sleep 3600'
    with (folder / "traybox.log").open("wb") as log:
        box = subprocess.Popen([str(TRAYBOX), "--no-install", "--", "sh", "-c", script], stderr=log)
    try:
        deadline = time.monotonic() + 20
        while not env_file.exists():
            if box.poll() is not None or time.monotonic() > deadline:
                pytest.skip("traybox did not start: " + (folder / "traybox.log").read_text())
            time.sleep(0.05)
        pairs = (item.partition("=") for item in env_file.read_text().split("\0") if item)
        found = {name: value for name, _, value in pairs}
        yield {name: found[name] for name in DESKTOP_VARS}
    finally:
        if pid_file.exists():  # ending the command ends traybox, which stops its desktop
            os.kill(int(pid_file.read_text()), signal.SIGTERM)
        box.wait(20)


def helper(desktop: dict[str, str], *command: str) -> str:
    done = subprocess.run(
        command, env={**os.environ, **desktop}, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, f"{command}: {done.stderr}"
    return done.stdout


def screenshot(desktop: dict[str, str], name: str) -> Image.Image:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    helper(desktop, "traybox-shot", str(path))
    with Image.open(path) as image:
        return image.convert("RGB")


def read_menu(
    desktop: dict[str, str], name: str, until: Callable[[str], bool] = lambda text: True
) -> str:
    """Open the menu, screenshot and read it (lower case), close it; again (bounded) until
    ``until(text)`` holds, since the app pushes a new state to the menu within about a second."""
    text = ""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        click_icon(desktop)
        # Off the icon (and off the menu), so no tooltip covers the menu's first lines.
        helper(desktop, "xdotool", "mousemove", "900", "700")
        time.sleep(0.6)
        shot = screenshot(desktop, name)
        helper(desktop, "xdotool", "key", "Escape")
        # The panel is 40 pixels high; a GTK menu drops below it, white with dark text.
        region = shot.crop((0, 40, 480, 400)).convert("L")
        text = ocr(region, name, lambda v: 255 if v > 216 else 0)
        time.sleep(0.3)
        if "quit" in text and until(text):
            break
    return text


def ocr(region: Image.Image, name: str, ink: Callable[[int], int]) -> str:
    """The text in a grey crop, lower case: enlarged, made black on white by ``ink`` (one
    grey level to 0 or 255), kept as an artefact and read by tesseract."""
    region = region.resize((region.width * 3, region.height * 3), Image.Resampling.LANCZOS)
    ocr_input = ARTIFACTS / f"ocr-{name}"
    region.point(ink).save(ocr_input)
    return subprocess.run(
        ["tesseract", str(ocr_input), "-", "--psm", "6"],
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout.lower()


def read_tooltip(desktop: dict[str, str], name: str) -> str:
    """Hover over the icon and read its tooltip (light text on a dark box, below the panel)."""
    centre = icon_centre(desktop)
    assert centre is not None, "no icon in the tray"
    text = ""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline and "companion" not in text:
        helper(desktop, "xdotool", "mousemove", str(centre[0] + 1), str(centre[1] + 1))
        time.sleep(1.5)
        region = screenshot(desktop, name).crop((0, 40, 480, 120)).convert("L")
        text = ocr(region, name, lambda v: 0 if v > 128 else 255)
        helper(desktop, "xdotool", "mousemove", "600", "600")  # away, so the next hover shows it
    return text


def read_notification(desktop: dict[str, str], name: str) -> str:
    """Read the notification dunst shows at the top right (light text on a dark box)."""
    text = ""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline and "match over" not in text:
        time.sleep(0.5)
        shot = screenshot(desktop, name)
        region = shot.crop((shot.width - 340, 40, shot.width, 160)).convert("L")
        region = region.resize((region.width * 3, region.height * 3), Image.Resampling.LANCZOS)
        region = region.point(lambda v: 0 if v > 160 else 255)
        ocr_input = ARTIFACTS / f"ocr-{name}"
        region.save(ocr_input)
        text = subprocess.run(
            ["tesseract", str(ocr_input), "-", "--psm", "6"],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.lower()
    return text


def badge_colour_pixels(desktop: dict[str, str], name: str, colour: tuple[int, int, int]) -> int:
    """How many pixels of the docked icon are close to ``colour``."""
    centre = icon_centre(desktop)
    assert centre is not None, "no icon in the tray"
    x, y = centre
    icon = screenshot(desktop, name).crop((x - 20, y - 20, x + 20, y + 20))
    data = icon.tobytes()
    pixels = zip(data[0::3], data[1::3], data[2::3], strict=True)
    return sum(
        1 for pixel in pixels if all(abs(a - b) < 40 for a, b in zip(pixel, colour, strict=True))
    )


AMBER = (255, 196, 0)


def status(app: AppProcess) -> dict[str, object]:
    response = httpx.get(app.url("/api/v1/status"), timeout=5)
    assert response.status_code == 200
    result: dict[str, object] = response.json()
    return result


def wait_until(what: str, check: object) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if callable(check) and check():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {WAIT_S:.0f} s: {what}")


@pytest.fixture
def game() -> Iterator[StatsApiServer]:
    server = StatsApiServer(port=0)
    server.start()
    yield server
    server.stop()


_GEOMETRY = re.compile(r"(\d+)x(\d+)\+-?\d+\+-?\d+\s+\+(-?\d+)\+(-?\d+)\s*$")


def icon_centre(desktop: dict[str, str]) -> tuple[int, int] | None:
    """The centre of the first icon docked in the tray panel, or None.

    Only windows nested under trayer's "panel" count (traybox-icon also matches windows listed
    after the panel, such as trayer's own 10x10 window, and so can report an icon that is not
    there)."""
    tree = helper(desktop, "xwininfo", "-root", "-tree").splitlines()
    panel_indent = None
    for line in tree:
        indent = len(line) - len(line.lstrip())
        if panel_indent is None:
            if '"panel"' in line:
                panel_indent = indent
            continue
        if line.strip() and indent <= panel_indent:
            return None  # left the panel's subtree
        found = _GEOMETRY.search(line)
        if found:
            width, height, x, y = (int(v) for v in found.groups())
            if 8 <= width <= 64 and 8 <= height <= 64:
                return x + width // 2, y + height // 2
    return None


def docked(desktop: dict[str, str]) -> bool:
    return icon_centre(desktop) is not None


def click_icon(desktop: dict[str, str], button: str = "3") -> None:
    centre = icon_centre(desktop)
    assert centre is not None, "no icon in the tray"
    helper(desktop, "xdotool", "mousemove", str(centre[0]), str(centre[1]), "click", button)


def activate_item(desktop: dict[str, str], number: int) -> None:
    """Open the menu and activate its ``number``-th enabled item with the keyboard."""
    click_icon(desktop)
    time.sleep(0.5)
    for _ in range(number):
        helper(desktop, "xdotool", "key", "Down")
        time.sleep(0.05)
    helper(desktop, "xdotool", "key", "Return")


def start_tray_app(
    tmp_path: Path,
    desktop: dict[str, str],
    game: StatsApiServer,
    extra_env: dict[str, str] | None = None,
    *args: str,
) -> AppProcess:
    # The tray is shared by this module's tests: the previous app's icon must be gone.
    wait_until("an empty tray", lambda: not docked(desktop))
    env = {**app_environment(extra_env), **desktop}
    app = start_with_tray(tmp_path / "data", env, "--game-port", str(game.port), *args)
    wait_until("the icon docks", lambda: docked(desktop))
    wait_until("the tray icon is shown", lambda: "tray icon shown" in app.read_output())
    time.sleep(1.0)  # GTK draws the docked icon a moment after it is mapped
    return app


def test_tray_follows_a_match_pauses_and_quits(
    tmp_path: Path, desktop: dict[str, str], game: StatsApiServer, browser: tuple[Path, Path]
) -> None:
    script, opened = browser
    app = start_tray_app(tmp_path, desktop, game, {"BROWSER": str(script)})
    try:
        # GTK leaves OpenGL alone (a software renderer would add some 50 MB).
        mapped = Path(f"/proc/{app.pid}/maps").read_text()
        assert "libGLX" not in mapped and "swrast_dri" not in mapped

        click_icon(desktop, "1")  # a left click is the default action: Open dashboard
        (url,) = wait_for_lines(opened, 1)
        assert_logs_in(url, app)

        menu = read_menu(desktop, "1-menu-at-start.png")
        for words in (
            f"companion 0.1.0 - port {app.port}",
            "no matches yet",
            "open dashboard",
            "pause stats",
            "start on login",
            "open data folder",
            "open logs",
            "quit",
        ):
            assert words in menu.replace("·", "-"), f"{words!r} not in the menu:\n{menu}"
        assert "queue" not in menu
        assert "companion: game connected" in read_tooltip(desktop, "1-tooltip.png")

        activate_item(desktop, PAUSE_ITEM)
        wait_until("paused", lambda: status(app)["paused"] is True)
        wait_until(
            "the icon shows the pause bars",
            lambda: badge_colour_pixels(desktop, "2-icon-paused.png", AMBER) > 20,
        )

        playback = game.play_async(
            synthesize(SynthOptions(seed=11, mode="2v2", rate=30)).messages(), speed=0
        )
        assert playback.wait(60), "the simulator did not finish the match"
        wait_until("rows queue up while paused", lambda: int(str(status(app)["queue_depth"])) > 0)
        menu = read_menu(desktop, "3-menu-paused-with-queue.png", lambda t: "queue" in t)
        assert re.search(r"queue: [\d,.]+ pending", menu), menu
        assert "stats paused" in menu, menu

        activate_item(desktop, PAUSE_ITEM)
        wait_until("resumed", lambda: status(app)["paused"] is False)
        wait_until("the queue drained", lambda: status(app)["queue_depth"] == 0)
        menu = read_menu(desktop, "4-menu-resumed.png", lambda t: "queue" not in t)
        assert "queue" not in menu and "quit" in menu, menu
        assert badge_colour_pixels(desktop, "5-icon-resumed.png", AMBER) < 5

        # Start on login, for real: the XDG autostart entry (under this test's private HOME).
        entry = Path(os.environ["XDG_CONFIG_HOME"]) / "autostart" / "companion.desktop"
        activate_item(desktop, AUTOSTART_ITEM)
        wait_until("the autostart entry is written", entry.is_file)
        assert f"--data-dir {app.data_dir}" in entry.read_text(encoding="utf-8")
        activate_item(desktop, AUTOSTART_ITEM)
        wait_until("the autostart entry is removed", lambda: not entry.exists())

        activate_item(desktop, QUIT_ITEM)
        assert app.process.wait(WAIT_S) == 0
    finally:
        code = stop_app(app)
    assert code == 0
    assert "companion stopped" in app.output
    assert not (app.data_dir / "server.json").exists()


def test_last_match_appears_in_the_menu(
    tmp_path: Path, desktop: dict[str, str], game: StatsApiServer
) -> None:
    app = start_tray_app(tmp_path, desktop, game, None, "--notify-match-summary")
    try:
        synthesis = synthesize(SynthOptions(seed=12, mode="1v1", rate=30))
        playback = game.play_async(synthesis.messages(), speed=0)
        assert playback.wait(60)
        wait_until("the queue drained", lambda: status(app)["queue_depth"] == 0)
        (truth,) = synthesis.truth.matches
        assert truth.me is not None and truth.winner is not None
        mine = truth.player(truth.me).team
        letter = "w" if truth.winner == mine else "l"
        score = f"{truth.team_scores[mine]}-{truth.team_scores[1 - mine]}"
        expected = f"last match: {letter} {score} - just now"
        menu = read_menu(
            desktop, "6-menu-last-match.png", lambda t: expected in dashes(t).replace("·", "-")
        )
        assert expected in dashes(menu).replace("·", "-"), menu
        assert "no matches yet" not in menu
        # The match summary notification (switched on above), shown by dunst at the top right.
        note = read_notification(desktop, "7-notification.png")
        assert "match over" in note and score in dashes(note), note
    finally:
        assert stop_app(app) == 0


def dashes(text: str) -> str:
    """OCR reads the en dash of a score as one of several dashes."""
    return re.sub("[\u2013\u2014\u2212]", "-", text)


def test_sigterm_with_pending_rows_stops_cleanly_and_loses_nothing(
    tmp_path: Path, desktop: dict[str, str], game: StatsApiServer
) -> None:
    app = start_tray_app(tmp_path, desktop, game)
    try:
        activate_item(desktop, PAUSE_ITEM)
        wait_until("paused", lambda: status(app)["paused"] is True)
        messages = synthesize(SynthOptions(seed=13, mode="1v1")).messages()
        assert game.play_async(messages, speed=0).wait(60)
        wait_until("the feed is all journaled", lambda: settled(app))
        accepted = status(app)["accepted_total"]
        assert isinstance(accepted, int) and accepted > 0
        assert status(app)["queue_depth"] == accepted  # paused: nothing applied
        app.process.send_signal(signal.SIGTERM)
        assert app.process.wait(WAIT_S) == 0
    finally:
        code = stop_app(app)
    assert code == 0
    assert "companion stopped" in app.output, app.output
    wait_until("the icon leaves the tray", lambda: not docked(desktop))

    # Every row accepted is in the journal, and those not applied are applied at the next start.
    with running_app(app.data_dir) as again:
        wait_until("the backlog is applied", lambda: status(again)["queue_depth"] == 0)
        rows = journal_rows(again)
    assert len(rows) >= accepted  # the reader also journals what it held when stopped
    assert all(row["applied"] for row in rows)


def settled(app: AppProcess) -> bool:
    """Whether the app accepted nothing new for a second (the reader has caught up)."""
    before = status(app)["accepted_total"]
    time.sleep(1.0)
    return bool(status(app)["accepted_total"] == before)


def journal_rows(app: AppProcess) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    after = 0
    while True:
        page = httpx.get(app.url(f"/api/v1/journal?after={after}&limit=1000"), timeout=5).json()
        if not page["rows"]:
            return rows
        rows += page["rows"]
        after = page["next_after"]


def test_the_tray_panel_is_found_without_python_xlib(desktop: dict[str, str]) -> None:
    code = (
        "import sys; from companion.tray.run import tray_host_present; "
        "print(tray_host_present('gtk'), 'Xlib' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **desktop},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.stdout.split() == ["True", "False"], done.stderr


def test_the_plain_x_backend_has_no_menu_so_it_runs_without_a_tray(
    tmp_path: Path, desktop: dict[str, str], browser: tuple[Path, Path]
) -> None:
    wait_until("an empty tray", lambda: not docked(desktop))
    env = {**desktop, "PYSTRAY_BACKEND": "xorg"}
    run_fallback(tmp_path, env, browser, "only the plain X tray is available here")
    assert not docked(desktop)


def test_ctrl_c_stops_the_tray_app_cleanly(
    tmp_path: Path, desktop: dict[str, str], game: StatsApiServer
) -> None:
    # GTK resets SIGINT to "die at once"; the app takes it back for a clean stop.
    app = start_tray_app(tmp_path, desktop, game)
    app.process.send_signal(signal.SIGINT)
    try:
        assert app.process.wait(WAIT_S) == 0
    finally:
        stop_app(app)
    assert "companion stopped" in app.output, app.output
    assert not (app.data_dir / "server.json").exists()
