"""``companion setup-game``: find the game's Stats API ini files, show them, turn the feed on.

This module owns the command and the file handling around the pure ini editing of
``companion.gameini``: reading a file, a backup next to it before any change, an atomic replace,
and the words a player sees (what was found, what changed, what to do when Windows needs
administrator rights). Where the files are is ``companion.gamefiles``' job.

Exit codes: 0 done or nothing to do; 1 a file could not be read or written, or no ini file was
found; 2 bad usage (a bad ``--rate``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from companion.gamefiles import Discovery, Environment, IniLocation, discover
from companion.gameini import (
    DEFAULT_RATE,
    SECTION,
    IniText,
    StatsApiIni,
    decode_ini,
    diff_lines,
    enable_feed,
    format_rate,
    parse_rate,
    read_stats_api,
)

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
BACKUP_INFIX = ".companion-backup-"

Status = Literal["changed", "already", "would-change", "missing", "failed"]
STATUSES: tuple[Status, ...] = ("changed", "already", "would-change", "missing", "failed")


@dataclass(frozen=True, slots=True)
class FileState:
    """One ini file as found: whether it is there and writable, and what it says now."""

    location: IniLocation
    exists: bool
    writable: bool
    protected: bool  # under Program Files: Windows wants administrator rights to change it
    data: bytes | None = None  # the file as read, byte for byte: what the backup holds
    ini: IniText | None = None
    settings: StatsApiIni | None = None
    problem: str | None = None  # why it could not be read


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one file when enabling the feed."""

    state: FileState
    status: Status
    diff: list[str] = field(default_factory=list)
    backup: Path | None = None
    error: str | None = None
    needs_rights: bool = False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # dest names carry a setup_ prefix: the main parser's settings flags (--port, ...) own the
    # plain names in the same namespace.
    parser.add_argument(
        "--rate",
        dest="setup_rate",
        default=format_rate(DEFAULT_RATE),
        metavar="PER_SECOND",
        help="feed updates per second, 1 to 120, decimals allowed (default %(default)s)",
    )
    parser.add_argument(
        "--ini",
        dest="setup_ini",
        action="append",
        type=Path,
        default=None,
        metavar="PATH",
        help="change this ini file instead of searching for the game's (repeatable)",
    )
    parser.add_argument(
        "--dry-run",
        dest="setup_dry_run",
        action="store_true",
        help="show what would change, write nothing",
    )


def run(args: argparse.Namespace, env: Environment | None = None) -> int:
    """Run ``companion setup-game``; ``env`` replaces this machine's environment in tests."""
    try:
        rate = parse_rate(str(args.setup_rate))
    except ValueError as exc:
        _warn(f"companion setup-game: {exc}")
        return EXIT_USAGE
    env = env or Environment.current()
    named: list[Path] | None = args.setup_ini
    if named:
        unique = dict.fromkeys(path.expanduser() for path in named)
        locations = [IniLocation(path, "explicit", "Named with --ini") for path in unique]
        discovery = Discovery(locations=locations, searched=[])
    else:
        discovery = discover(env)
    protected = protected_folders(env)
    states = [inspect(location, protected) for location in discovery.locations]
    if not any(state.exists for state in states):
        _nothing_found(discovery, named is not None)
        return EXIT_FAILURE
    dry_run = bool(args.setup_dry_run)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    mode = " (dry run: nothing is written)" if dry_run else ""
    _say(
        f"Turning on Rocket League's live data feed at {format_rate(rate)} updates per second{mode}"
    )
    outcomes: list[Outcome] = []
    for state in states:
        outcome = enable(state, rate, dry_run=dry_run, stamp=stamp)
        outcomes.append(outcome)
        _show(outcome, states)
    return _summary(outcomes, rate, dry_run)


def protected_folders(env: Environment) -> list[Path]:
    """Folders where Windows lets only administrators change files."""
    if not env.windows:
        return []
    names = ("ProgramFiles", "ProgramFiles(x86)", "ProgramW6432")
    texts = [env.var(name) for name in names]
    texts += ["C:\\Program Files", "C:\\Program Files (x86)"]
    return list(dict.fromkeys(env.path(text) for text in texts if text))


def inspect(location: IniLocation, protected: Sequence[Path] = ()) -> FileState:
    """Read one ini file (never writes); a missing or unreadable file is reported, not raised."""
    path = location.ini
    is_protected = any(_is_within(path, folder) for folder in protected)
    if not path.exists():
        return FileState(location, exists=False, writable=False, protected=is_protected)
    # The folder must be writable too: the backup and the temporary file are written there.
    # (On Windows this does not see folder permissions; ``protected`` covers the usual case.)
    writable = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return FileState(location, True, writable, is_protected, problem=_reason(exc))
    ini = decode_ini(data)
    return FileState(location, True, writable, is_protected, data, ini, read_stats_api(ini.text))


def enable(state: FileState, rate: float, *, dry_run: bool, stamp: str) -> Outcome:
    """Set ``PacketSendRate`` in one file: back up the original, then replace it atomically."""
    if not state.exists:
        # A file the player named is expected to be there; a guessed location is only a guess.
        if state.location.kind == "explicit":
            return Outcome(state, "failed", error="no such file")
        return Outcome(state, "missing")
    if state.ini is None or state.data is None:
        return Outcome(state, "failed", error=f"could not read it: {state.problem}")
    path = state.location.ini
    before = state.ini.text
    after = enable_feed(before, rate)
    if after == before:
        return Outcome(state, "already")
    # The full path is printed just above the diff; the name keeps its header short.
    diff = diff_lines(before, after, path.name)
    if dry_run:
        return Outcome(state, "would-change", diff)
    original = state.data
    backup = _backup_path(path, stamp)
    try:
        if path.read_bytes() != original:
            # Changed since it was read (the game saving its settings?): never overwrite that.
            return Outcome(state, "failed", diff, error="it changed while companion was reading it")
        _replace_file(backup, original, mode_from=path)
        _replace_file(path, state.ini.encode(after), mode_from=path)
    except OSError as exc:
        # The original is untouched, so a backup of it would only be clutter.
        with contextlib.suppress(OSError):
            if backup.exists() and backup.read_bytes() == original:
                backup.unlink()
        rights = isinstance(exc, PermissionError) and not _in_use(exc)
        return Outcome(state, "failed", diff, error=_reason(exc), needs_rights=rights)
    return Outcome(state, "changed", diff, backup=backup)


def _replace_file(path: Path, data: bytes, mode_from: Path) -> None:
    """Write ``data`` to ``path`` atomically: a temporary file beside it, flushed, then renamed.

    A crash or a full disk leaves either the old file or the new one, never half of each: the
    game must never find a truncated ini. Tests replace this function to simulate a refusal.
    """
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        with contextlib.suppress(OSError):
            os.chmod(temporary, os.stat(mode_from).st_mode & 0o7777)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _backup_path(path: Path, stamp: str) -> Path:
    candidate = path.with_name(f"{path.name}{BACKUP_INFIX}{stamp}")
    number = 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.name}{BACKUP_INFIX}{stamp}-{number}")
    return candidate


def _show(outcome: Outcome, states: Sequence[FileState]) -> None:
    state = outcome.state
    _say("")
    _say(state.location.where)
    _say(f"  {state.location.ini}")
    if not state.exists:
        _say("  not there: no such file" if outcome.status == "failed" else "  not there; skipped")
        return
    if state.protected:
        _say("  exists; it is under Program Files, so changing it may need administrator rights")
    else:
        _say("  exists, writable" if state.writable else "  exists, but read-only for you")
    if state.settings is not None:
        _say(f"  found: {_describe(state.settings)}")
    if outcome.status == "already":
        _say("  already on at this rate; left as it is")
    elif outcome.status == "would-change":
        _say("  would change (dry run):")
        for line in outcome.diff:
            _say(f"    {line}")
    elif outcome.status == "changed":
        backup = outcome.backup.name if outcome.backup else "?"
        _say(f"  changed; the original is kept next to it as {backup}")
    elif outcome.status == "failed":
        _say(f"  could not change it: {outcome.error}")
        if outcome.needs_rights:
            for line in _rights_advice(state, states):
                _say(f"  {line}")


def _describe(settings: StatsApiIni) -> str:
    if not settings.has_section:
        return f"no [{SECTION}] section, so the feed is off"
    if settings.packet_send_rate is None:
        parts = ["PacketSendRate not set (feed off)"]
    else:
        feed = "feed on" if settings.enabled else "feed off"
        parts = [f"PacketSendRate={settings.packet_send_rate} ({feed})"]
    if settings.port is None:
        parts.append("Port not set (the game uses 49123)")
    else:
        parts.append(f"Port={settings.port}")
    if settings.web_port is not None:
        parts.append(f"WebPort={settings.web_port}")
    return ", ".join(parts)


def _rights_advice(state: FileState, states: Sequence[FileState]) -> list[str]:
    if state.protected:
        lines = [
            "It is in a protected folder (Program Files), so Windows lets only an administrator",
            "change it. Either:",
            '- run this command again in a terminal opened with "Run as administrator", or',
        ]
    else:
        lines = [
            "Your user account may not change this file. Either:",
            "- fix the file's owner or permissions (or run this command as its owner), or",
        ]
    user_files = [
        other.location.ini
        for other in states
        if other.location.kind == "user" and other.exists and other is not state
    ]
    if user_files:
        lines.append("- change only the file in your user folder instead:")
        lines += [f"    companion setup-game --ini {_quote(path)}" for path in user_files]
    else:
        lines.append("- edit the file in your Documents folder instead, once the game created it:")
        lines.append("    companion setup-game --ini <path to TAStatsAPI.ini>")
    return lines


def _summary(outcomes: Sequence[Outcome], rate: float, dry_run: bool) -> int:
    count = {status: sum(o.status == status for o in outcomes) for status in STATUSES}
    wanted = f"{format_rate(rate)} updates per second"
    _say("")
    if count["failed"]:
        _say(f"{_files(count['failed'])} could not be changed (see above).")
    if dry_run:
        if count["would-change"]:
            _say("Dry run: nothing was written. Run again without --dry-run to make the change.")
        elif not count["failed"]:
            _say(f"The feed is already on at {wanted}; nothing would change.")
    elif count["changed"]:
        _say(f"The feed is now on at {wanted} in {_files(count['changed'])}.")
        _say("Restart Rocket League for the change to take effect: quit it, then start it again.")
    elif not count["failed"]:
        _say(f"The feed is already on at {wanted}; nothing to change.")
    if not count["failed"] and not dry_run:
        _say("companion receives data only while you are in a match.")
    return EXIT_FAILURE if count["failed"] else EXIT_OK


def _nothing_found(discovery: Discovery, named: bool) -> None:
    if named:
        _warn("companion setup-game: none of the files named with --ini exists:")
        for location in discovery.locations:
            _warn(f"  {location.ini}")
        return
    _warn("companion setup-game: found no Stats API ini file of Rocket League.")
    if discovery.locations:
        _warn("Found the game's folders, but no ini file in them (is the game up to date?):")
        _warn("\n".join(f"  {location.ini}" for location in discovery.locations))
    if discovery.searched:
        _warn("Looked in:")
        _warn("\n".join(f"  {folder}" for folder in discovery.searched))
    else:
        _warn("Finding the game automatically works on Windows and Linux only.")
    _warn(
        "If the game is installed elsewhere, name the file: "
        "companion setup-game --ini <path to TAStatsAPI.ini or DefaultStatsAPI.ini>"
    )


def _files(count: int) -> str:
    return "1 file" if count == 1 else f"{count} files"


def _is_within(path: Path, folder: Path) -> bool:
    absolute, base = os.path.normcase(os.path.abspath(path)), os.path.normcase(folder)
    return absolute == base or absolute.startswith(base.rstrip("\\/") + os.sep)


def _quote(path: Path) -> str:
    return f'"{path}"' if os.name == "nt" else shlex.quote(str(path))


def _reason(exc: OSError) -> str:
    if _in_use(exc):
        return "another program has it open (is Rocket League running? quit it and try again)"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return exc.strerror or str(exc)


def _in_use(exc: OSError) -> bool:
    # Windows reports a file held open by another program (error 32, a sharing violation) as a
    # PermissionError too, but administrator rights would not help there.
    return getattr(exc, "winerror", None) == 32


def _say(text: str) -> None:
    print(text, flush=True)  # noqa: T201 (the command's report is for the player)


def _warn(text: str) -> None:
    print(text, file=sys.stderr, flush=True)  # noqa: T201
