"""The ``companion`` command: run the app (default) or one of its maintenance commands.

Exit codes: 0 normal; 1 unexpected failure (or a damaged database); 2 bad usage or configuration,
or a busy port; 3 another instance owns this data folder.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar, overload

from companion import __version__
from companion.errors import AlreadyRunningError, ConfigError, StartupError
from companion.logs import configure_logging, ensure_std_streams
from companion.paths import Paths
from companion.settings import SPECS, Settings, load_settings

log = logging.getLogger("companion")

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_ALREADY_RUNNING = 0, 1, 2, 3


def _say(text: str) -> None:
    print(text, file=sys.stderr if text.startswith("companion: ") else sys.stdout, flush=True)


_N = TypeVar("_N")
# Each worker of a rebuild is a process of its own (about 30 MB): not one per core of a big machine.
MAX_DEFAULT_WORKERS = 8


class CommandParser(argparse.ArgumentParser):
    """A command's parser that adds its options only once that command is parsed or its help
    shown: the simulator and the game setup stay out of the running app's memory."""

    def __init__(
        self,
        *args: Any,
        options: Callable[[argparse.ArgumentParser], None] | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(*args, **kw)
        self._options = options

    def _add_options(self) -> None:
        options, self._options = self._options, None
        if options is not None:
            options(self)

    @overload
    def parse_known_args(
        self, args: Iterable[str] | None = None, namespace: None = None
    ) -> tuple[argparse.Namespace, list[str]]: ...
    @overload
    def parse_known_args(
        self, args: Iterable[str] | None, namespace: _N
    ) -> tuple[_N, list[str]]: ...
    @overload
    def parse_known_args(self, *, namespace: _N) -> tuple[_N, list[str]]: ...
    def parse_known_args(self, args: Iterable[str] | None = None, namespace: Any = None) -> Any:
        self._add_options()
        return super().parse_known_args(args, namespace)

    def format_help(self) -> str:
        self._add_options()
        return super().format_help()


def _simulate_options(parser: argparse.ArgumentParser) -> None:
    from companion.simulator import cli as simulator_cli

    simulator_cli.add_arguments(parser)


def _setup_game_options(parser: argparse.ArgumentParser) -> None:
    from companion import gamesetup

    gamesetup.add_arguments(parser)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="companion",
        description="A desktop companion for Rocket League: live match data and stats, locally.",
    )
    parser.add_argument("--version", action="version", version=f"companion {__version__}")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="keep database, token, logs and config.toml in this folder (portable mode)",
    )
    parser.add_argument("--no-tray", action="store_true", help="run headless, without a tray icon")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="try companion without the game: a built-in simulator plays made-up matches into "
        "a throwaway data folder",
    )
    parser.add_argument(
        "--selftest",
        nargs="?",
        const="",
        default=None,
        metavar="REPORT.json",
        help="check this installation in a throwaway data folder, print a verdict, exit 0 or 1 "
        "(--selftest=PATH also writes the result as JSON)",
    )
    settings = parser.add_argument_group("settings (override config.toml and COMPANION_*)")
    for spec in SPECS:
        if spec.kind == "bool":
            settings.add_argument(
                spec.flag,
                dest=spec.name,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=spec.help,
            )
        else:
            settings.add_argument(
                spec.flag,
                dest=spec.name,
                default=None,
                metavar=spec.name.upper(),
                help=f"{spec.help} (default {spec.default!r})",
            )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser)
    database = commands.add_parser("db", help="database maintenance")
    db_commands = database.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_commands.add_parser(
        "reset", help="move the database aside as companion.db.broken-<time> and start empty"
    )
    rebuild = commands.add_parser(
        "rebuild",
        help="recompute every stats table from the journal (quit the app first)",
        description="Recompute every stats table from the journal, in one transaction: the "
        "old tables stay until the new ones are complete.",
    )
    rebuild.add_argument(
        "--workers",
        type=int,
        default=min(os.cpu_count() or 1, MAX_DEFAULT_WORKERS),
        metavar="N",
        help="processes deriving side by side (default: one per core, at most "
        f"{MAX_DEFAULT_WORKERS}; 1: this process only)",
    )
    commands.add_parser(
        "setup-game",
        help="find the game's Stats API ini files and enable the live feed",
        description="Find Rocket League's Stats API ini files and enable the live feed.",
        options=_setup_game_options,
    )
    commands.add_parser(
        "simulate",
        help="a fake game speaking the Stats API: replay a capture or synthesise matches",
        description="A fake Rocket League that speaks the Stats API over TCP.",
        options=_simulate_options,
    )
    return parser


def _settings_from(args: argparse.Namespace, paths: Paths) -> Settings:
    flags: dict[str, Any] = {spec.name: getattr(args, spec.name) for spec in SPECS}
    return load_settings(paths.config_file, os.environ, flags)


def main(argv: Sequence[str] | None = None) -> int:
    ensure_std_streams()
    args = build_parser().parse_args(argv)
    if args.selftest is not None:  # before anything touches the user's folders
        from companion.selftest import run_selftest

        return run_selftest(Path(args.selftest) if args.selftest else None)
    data_dir = args.data_dir
    if data_dir is None and os.environ.get("COMPANION_DATA_DIR"):
        data_dir = Path(os.environ["COMPANION_DATA_DIR"])
    paths = Paths.resolve(data_dir)
    try:
        settings = _settings_from(args, paths)
    except ConfigError as exc:
        _say(f"companion: configuration error: {exc}")
        return EXIT_USAGE
    # The demo keeps even its log in its throwaway folder (run_demo sets that up).
    configure_logging(None if args.demo else paths.log_file, settings.log_level)
    try:
        if args.command == "db":
            return _db_reset(paths)
        if args.command == "rebuild":
            from companion import rebuild_command

            return rebuild_command.run(settings, paths, _say, workers=max(1, args.workers))
        if args.command == "setup-game":
            from companion import gamesetup

            return gamesetup.run(args)
        if args.command == "simulate":
            from companion.simulator import cli as simulator_cli

            return simulator_cli.run(args)
        if args.demo:
            from companion.demo import run_demo

            return run_demo(settings, args.data_dir, _say)
        # Start on login must start this same installation: keep an explicit data folder.
        explicit = paths.data_dir if data_dir is not None else None
        return _run(settings, paths, headless=args.no_tray, data_dir=explicit)
    except AlreadyRunningError as exc:
        if args.command is None and not args.no_tray and not args.demo:
            # Double-clicking the shortcut again: show the running instance instead.
            return _open_running_instance(paths, exc.url)
        _say(f"companion: {exc}")
        return EXIT_ALREADY_RUNNING
    except StartupError as exc:
        log.error("%s", exc)
        _say(f"companion: {exc}")
        return exc.exit_code
    except Exception:
        log.exception("companion failed")
        _say(f"companion: unexpected failure; details in {paths.log_file}")
        return EXIT_FAILURE


def _run(settings: Settings, paths: Paths, headless: bool, data_dir: Path | None) -> int:
    from companion.app import CompanionApp

    # No token yet: nobody has opened this installation's dashboard before.
    first_start = not paths.token_file.exists()
    app = CompanionApp(settings, paths)
    app.start(defer_api=not headless)  # with a tray, built when the pages are first wanted
    _say(f"companion {__version__} is running at {app.url}/ (data folder: {paths.data_dir})")
    if headless:
        return app.run_headless()
    from companion.tray.run import run_with_tray

    return run_with_tray(app, _say, first_start=first_start, data_dir=data_dir)


SECOND_LAUNCH_WAIT_S = 10.0


def _open_running_instance(paths: Paths, url: str | None) -> int:
    """Open the running instance's dashboard (logged in) and exit 0; exit 3 if it cannot be
    found (it may still be starting: its ``server.json`` is awaited for a few seconds)."""
    import time

    from companion.instance import read_server_file
    from companion.tray.desktop import open_url
    from companion.tray.menu import dashboard_url

    deadline = time.monotonic() + SECOND_LAUNCH_WAIT_S
    while url is None and time.monotonic() < deadline:
        time.sleep(0.1)
        info = read_server_file(paths.server_file)
        found = info.get("url") if info else None
        url = found if isinstance(found, str) else None
    try:
        token = paths.token_file.read_text(encoding="ascii").strip()
    except OSError:
        token = ""
    if url is None or not token:
        _say(
            "companion: companion is already running for this data folder, but its dashboard "
            "address is unknown"
        )
        return EXIT_ALREADY_RUNNING
    _say(f"companion is already running at {url}/; opening its dashboard")
    # Wait for the browser hand-off: this process ends right after.
    open_url(dashboard_url(url, token)).join(SECOND_LAUNCH_WAIT_S)
    return EXIT_OK


def _db_reset(paths: Paths) -> int:
    from companion.instance import InstanceLock
    from companion.storage.database import reset_database

    lock = InstanceLock(paths.lock_file, paths.server_file)
    lock.acquire()
    try:
        aside = reset_database(paths.database)
    finally:
        lock.release()
    if aside is None:
        _say(f"no database at {paths.database}; nothing to reset")
    else:
        _say(f"moved {paths.database} aside as {aside}; companion starts empty next time")
    return EXIT_OK
