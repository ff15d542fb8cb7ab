"""Settings: one frozen object built once from defaults < config.toml < environment < flags.

Keys are ``snake_case`` in TOML, ``COMPANION_<KEY>`` in the environment and ``--<key-with-dashes>``
on the command line. A bad value stops start-up with a ``ConfigError`` naming where the value came
from, the key and the allowed values.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from companion.errors import ConfigError

Kind = Literal["int", "bool", "str", "choice"]
Origin = Literal["default", "file", "env", "flag"]

LOG_LEVELS = ("debug", "info", "warning", "error")
ENV_PREFIX = "COMPANION_"


@dataclass(frozen=True, slots=True)
class SettingSpec:
    """How one setting is typed, bounded and explained."""

    name: str
    kind: Kind
    default: Any
    help: str
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    max_length: int = 256
    needs_restart: bool = False

    @property
    def env_var(self) -> str:
        return ENV_PREFIX + self.name.upper()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def allowed(self) -> str:
        if self.kind == "int":
            return f"an integer from {self.minimum} to {self.maximum}"
        if self.kind == "bool":
            return "true or false"
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        return f"text of at most {self.max_length} characters"


SPECS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "port",
        "int",
        49133,
        "HTTP port on 127.0.0.1 (0 = any free port)",
        0,
        65535,
        needs_restart=True,
    ),
    SettingSpec(
        "max_body_bytes",
        "int",
        1024 * 1024,
        "largest ingest request body in bytes",
        1024,
        256 * 1024 * 1024,
    ),
    SettingSpec("max_batch_items", "int", 10_000, "most events in one ingest batch", 1, 1_000_000),
    SettingSpec("game", "bool", True, "read the game's Stats API feed", needs_restart=True),
    SettingSpec(
        "game_host", "str", "127.0.0.1", "host of the game's Stats API feed", needs_restart=True
    ),
    SettingSpec(
        "game_port", "int", 49123, "port of the game's Stats API feed", 1, 65535, needs_restart=True
    ),
    SettingSpec("me", "str", "", "your PrimaryId (empty: detect it)"),
    SettingSpec(
        "session_gap_minutes", "int", 30, "a pause this long starts a new session", 1, 24 * 60
    ),
    SettingSpec(
        "match_silence_minutes",
        "int",
        15,
        "a match with no events for this long is closed as incomplete",
        1,
        24 * 60,
    ),
    SettingSpec("notifications", "bool", True, "show desktop notifications"),
    SettingSpec(
        "notify_match_summary", "bool", False, "a notification with the result of each match"
    ),
    SettingSpec("log_level", "choice", "info", "how much to log", choices=LOG_LEVELS),
)
SPECS_BY_NAME = {spec.name: spec for spec in SPECS}


@dataclass(frozen=True, slots=True)
class Settings:
    """The settings in force. Never mutated: a change builds a new object and swaps it in."""

    port: int = 49133
    max_body_bytes: int = 1024 * 1024
    max_batch_items: int = 10_000
    game: bool = True
    game_host: str = "127.0.0.1"
    game_port: int = 49123
    me: str = ""
    session_gap_minutes: int = 30
    match_silence_minutes: int = 15
    notifications: bool = True
    notify_match_summary: bool = False
    log_level: str = "info"
    origins: Mapping[str, Origin] = field(default_factory=dict, compare=False)

    def origin(self, name: str) -> Origin:
        """Where the value of ``name`` came from; env and flag values are pinned."""
        return self.origins.get(name, "default")

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def coerce(spec: SettingSpec, raw: Any, where: str) -> Any:
    """Turn ``raw`` (typed from TOML or a flag, or text from the environment) into a value."""

    original = raw

    def bad() -> ConfigError:
        return ConfigError(
            f"{where}: {original!r} is not valid for {spec.name}; use {spec.allowed()}"
        )

    if spec.kind == "int":
        if isinstance(raw, bool):
            raise bad()
        if isinstance(raw, str):
            try:
                raw = int(raw.strip(), 10)
            except ValueError:
                raise bad() from None
        if not isinstance(raw, int):
            raise bad()
        assert spec.minimum is not None and spec.maximum is not None
        if not spec.minimum <= raw <= spec.maximum:
            raise bad()
        return raw
    if spec.kind == "bool":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE
        raise bad()
    if not isinstance(raw, str) or len(raw) > spec.max_length:
        raise bad()
    if spec.kind == "choice":
        value = raw.strip().lower()
        if value not in spec.choices:
            raise bad()
        return value
    return raw.strip()


def read_config_file(path: Path) -> dict[str, Any]:
    """Read ``config.toml``; a missing file is empty, a broken one is a ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror}") from exc
    try:
        values = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    unknown = sorted(set(values) - set(SPECS_BY_NAME))
    if unknown:
        known = ", ".join(SPECS_BY_NAME)
        raise ConfigError(f"{path}: unknown setting {unknown[0]!r}; known settings: {known}")
    return values


def load_settings(
    config_file: Path | None,
    environ: Mapping[str, str],
    flags: Mapping[str, Any],
) -> Settings:
    """Build the settings: defaults < ``config_file`` < ``environ`` < ``flags``.

    ``flags`` holds only the flags given on the command line (``None`` values are ignored).
    """
    values: dict[str, Any] = {}
    origins: dict[str, Origin] = {}
    file_values = read_config_file(config_file) if config_file is not None else {}
    for spec in SPECS:
        if spec.name in file_values:
            where = f"{config_file}: {spec.name}"
            values[spec.name] = coerce(spec, file_values[spec.name], where)
            origins[spec.name] = "file"
        if spec.env_var in environ:
            values[spec.name] = coerce(spec, environ[spec.env_var], spec.env_var)
            origins[spec.name] = "env"
        if flags.get(spec.name) is not None:
            values[spec.name] = coerce(spec, flags[spec.name], spec.flag)
            origins[spec.name] = "flag"
    return Settings(**values, origins=origins)
