"""Changing settings while companion runs: check the changes, write ``config.toml``, build the
new frozen ``Settings``.

The file is edited line by line, so a player's comments and order survive: a key's
``key = value`` line is replaced, a new key is appended. The result is read back with ``tomllib``
before it replaces the file (atomically); if the edit would not read back as intended (say, a
hand-written multi-line value), the file is written afresh from the values instead. Values pinned
by the environment or a flag cannot be changed here: they would be overridden at the next start.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from companion.errors import CompanionError, ConfigError
from companion.settings import SPECS, SPECS_BY_NAME, Origin, Settings, SettingSpec, coerce

_HEADER = "# companion settings (written by companion; comments and order are kept)\n"


class SettingsChangeError(CompanionError):
    """Some requested changes cannot be made; ``problems`` has one ``{"field", "problem"}`` each.

    Nothing is written when this is raised.
    """

    def __init__(self, problems: list[dict[str, str]]) -> None:
        first = problems[0]
        super().__init__(f"{first['field']}: {first['problem']}")
        self.problems = problems


class SettingsWriteError(CompanionError):
    """``config.toml`` could not be read back or written; the settings in force are unchanged."""


@dataclass(frozen=True, slots=True)
class SettingsChange:
    """The outcome of a successful change: the new settings and what they mean for the player."""

    settings: Settings
    changed: tuple[str, ...]
    restart_required: tuple[str, ...]


def pinned_by(spec: SettingSpec, origin: Origin) -> str | None:
    """How a pinned value was set (the variable or flag to change instead), or None."""
    if origin == "env":
        return f"environment variable {spec.env_var}"
    if origin == "flag":
        return f"command-line flag {spec.flag}"
    return None


def check_changes(current: Settings, requested: Mapping[str, Any]) -> dict[str, Any]:
    """The requested values, typed and checked, keeping only those that differ from now.

    Raises ``SettingsChangeError`` naming every unknown, pinned or invalid field.
    """
    problems: list[dict[str, str]] = []
    values: dict[str, Any] = {}
    for name, raw in requested.items():
        spec = SPECS_BY_NAME.get(name)
        if spec is None:
            problems.append({"field": name, "problem": "no such setting"})
            continue
        pin = pinned_by(spec, current.origin(name))
        try:
            value = coerce(spec, raw, name)
        except ConfigError:
            shown = json.dumps(raw, ensure_ascii=False, default=str)[:80]
            problems.append(
                {"field": name, "problem": f"{shown} is not allowed; use {spec.allowed()}"}
            )
            continue
        if value == getattr(current, name):
            continue
        if pin is not None:
            problems.append({"field": name, "problem": f"pinned by the {pin}; change it there"})
            continue
        values[name] = value
    if problems:
        raise SettingsChangeError(problems)
    return values


def apply_changes(
    current: Settings, requested: Mapping[str, Any], config_file: Path
) -> SettingsChange:
    """Check ``requested``, write the changed values to ``config_file``, return the new settings."""
    values = check_changes(current, requested)
    if not values:
        return SettingsChange(current, (), ())
    write_config(config_file, values)
    origins: dict[str, Origin] = {**current.origins, **dict.fromkeys(values, "file")}
    settings = current.replace(**values, origins=origins)
    changed = tuple(spec.name for spec in SPECS if spec.name in values)  # in the page's order
    restart = tuple(name for name in changed if SPECS_BY_NAME[name].needs_restart)
    return SettingsChange(settings, changed, restart)


def toml_value(value: Any) -> str:
    """A setting's value in TOML: integers, booleans and basic strings are all there is."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    # JSON's string escapes are valid TOML, except that TOML also refuses a raw DEL.
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007F")


def write_config(config_file: Path, values: Mapping[str, Any]) -> None:
    """Set ``values`` in ``config_file`` (created if missing), keeping every other line."""
    try:
        # Bytes, not read_text: universal newlines would turn a Windows file's CRLF into LF.
        text = config_file.read_bytes().decode("utf-8")
    except FileNotFoundError:
        text = _HEADER
    except OSError as exc:
        raise SettingsWriteError(f"cannot read {config_file}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise SettingsWriteError(f"{config_file} is not UTF-8 text") from exc
    try:
        before = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsWriteError(
            f"{config_file} is not valid TOML ({exc}); fix or remove it, then save again"
        ) from exc
    wanted = {**before, **values}
    edited = _edit_lines(text, values)
    if _reads_as(edited) != wanted:
        edited = _HEADER + "".join(
            f"{spec.name} = {toml_value(wanted[spec.name])}\n"
            for spec in SPECS
            if spec.name in wanted
        )
    _replace(config_file, edited)


def _edit_lines(text: str, values: Mapping[str, Any]) -> str:
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if "\r\n" in text else "\n"
    pending = dict(values)
    for index, line in enumerate(lines):
        # Settings are top-level keys: stop at the first [table] header.
        if line.lstrip().startswith("["):
            break
        match = re.match(r"\s*([A-Za-z0-9_]+)\s*=", line)
        if match and match.group(1) in pending:
            name = match.group(1)
            lines[index] = f"{name} = {toml_value(pending.pop(name))}{newline}"
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += newline
    # New keys go before any table, so they stay top-level.
    at = next((i for i, line in enumerate(lines) if line.lstrip().startswith("[")), len(lines))
    lines[at:at] = [f"{name} = {toml_value(value)}{newline}" for name, value in pending.items()]
    return "".join(lines)


def _reads_as(text: str) -> dict[str, Any] | None:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None


def _replace(path: Path, text: str) -> None:
    """Write atomically: a temporary file beside it, flushed to disk, then renamed over it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        raise SettingsWriteError(f"cannot write {path}: {exc.strerror or exc}") from exc
