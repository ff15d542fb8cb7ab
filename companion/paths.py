"""Where companion keeps its files: data folder, logs and config (platformdirs, or one folder)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "companion"


@dataclass(frozen=True, slots=True)
class Paths:
    """The folders of one installation.

    By default they follow the OS conventions (platformdirs ``user_data_dir``, ``user_log_dir``,
    ``user_config_dir``). With an explicit data folder (portable mode, tests, the demo) everything
    lives inside it: ``logs/`` and ``config.toml`` included, so nothing touches the user's folders.
    """

    data_dir: Path
    log_dir: Path
    config_dir: Path

    @classmethod
    def resolve(cls, data_dir: Path | None = None) -> Paths:
        if data_dir is not None:
            root = data_dir.expanduser().resolve()
            return cls(data_dir=root, log_dir=root / "logs", config_dir=root)
        return cls(
            data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
            log_dir=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
            config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        )

    @property
    def database(self) -> Path:
        return self.data_dir / "companion.db"

    @property
    def token_file(self) -> Path:
        return self.data_dir / "token"

    @property
    def lock_file(self) -> Path:
        return self.data_dir / "companion.lock"

    @property
    def server_file(self) -> Path:
        return self.data_dir / "server.json"

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "companion.log"

    def create(self) -> None:
        for folder in (self.data_dir, self.log_dir, self.config_dir):
            folder.mkdir(parents=True, exist_ok=True)
