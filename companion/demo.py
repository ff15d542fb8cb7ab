"""``companion --demo``: the whole app with the game simulator built in.

A newcomer sees the product working with one command and no game: the simulator plays
synthesised matches (made-up players) into the app's own game-feed reader, on private ports and
in a throwaway data folder that is removed on exit, so the player's real data is never touched.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from companion.app import CompanionApp
from companion.logs import configure_logging
from companion.paths import Paths
from companion.settings import Settings
from companion.simulator import StatsApiServer, SynthOptions, synthesize

log = logging.getLogger(__name__)

DEMO_SPEED = 4.0  # four times real speed: a five-minute match in about 75 s
DEMO_RATE = 30.0


def demo_settings(settings: Settings, simulator_port: int) -> Settings:
    """The settings of a demo run: the built-in game, and a free port unless one was chosen."""
    port = settings.port if settings.origin("port") in ("env", "flag") else 0
    return settings.replace(port=port, game=True, game_host="127.0.0.1", game_port=simulator_port)


class DemoGame:
    """Plays season after season of synthesised matches to whoever connects."""

    def __init__(self, speed: float = DEMO_SPEED) -> None:
        self.server = StatsApiServer(port=0)
        self.speed = speed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="companion-demo", daemon=True)

    def start(self) -> int:
        port = self.server.start()
        self._thread.start()
        return port

    def stop(self) -> None:
        self._stop.set()
        self.server.stop()
        self._thread.join(5)

    def _run(self) -> None:
        season = 0
        while not self._stop.is_set():
            season += 1
            options = SynthOptions(
                seed=season, scenario="mixed", mode="mixed", matches=5, rate=DEMO_RATE, gap=4.0
            )
            synthesis = synthesize(options)
            playback = self.server.play_async(synthesis.messages(), speed=self.speed)
            while not playback.wait(0.5):
                if self._stop.is_set():
                    playback.cancel()
                    return


def run_demo(settings: Settings, data_dir: Path | None, say: Callable[[str], None]) -> int:
    """Run the demo until Ctrl+C (or SIGTERM, or the quit route); 0 on a normal exit."""
    throwaway = data_dir is None
    folder = Path(tempfile.mkdtemp(prefix="companion-demo-")) if data_dir is None else data_dir
    paths = Paths.resolve(folder)
    configure_logging(paths.log_file, settings.log_level)
    game = DemoGame()
    try:
        simulator_port = game.start()
        app = CompanionApp(demo_settings(settings, simulator_port), paths)
        app.start()
        say(
            f"companion demo is running at {app.url}/ with a simulated game: synthesised "
            f"matches with made-up players, {DEMO_SPEED:g}x real speed. "
            f"Throwaway data folder: {folder}. Ctrl+C to quit."
        )
        return app.run_headless()
    finally:
        game.stop()
        if throwaway:
            shutil.rmtree(folder, ignore_errors=True)
