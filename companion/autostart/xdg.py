"""Start on login on Linux and other XDG desktops: ``$XDG_CONFIG_HOME/autostart/*.desktop``.

The desktop environment starts every ``.desktop`` file in that folder at login, unless the entry
says ``Hidden=true`` (the spec's "disabled") or, on GNOME, ``X-GNOME-Autostart-enabled=false``.
A same-named file here overrides one in ``/etc/xdg/autostart``. Bare window managers do not read
the folder at all; nothing companion can do about that.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from companion.autostart import APP_NAME

FILE_NAME = f"{APP_NAME}.desktop"
_SPECIAL = {'"', "`", "$", "\\"}


def autostart_dir(environ: Mapping[str, str], home: Path) -> Path:
    config_home = environ.get("XDG_CONFIG_HOME", "")
    # The spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
    base = Path(config_home) if config_home and Path(config_home).is_absolute() else None
    return (base or home / ".config") / "autostart"


def exec_line(command: list[str]) -> str:
    """Quote ``command`` for ``Exec=`` (desktop entry spec: double quotes, and a backslash
    before ``"``, `` ` ``, ``$`` and ``\\`` inside them; ``%`` doubled, it starts field codes)."""
    parts = []
    for arg in command:
        arg = arg.replace("%", "%%")
        if arg and not any(ch.isspace() or ch in _SPECIAL or ch in "'<>~|&;*?#()" for ch in arg):
            parts.append(arg)
        else:
            parts.append('"' + "".join("\\" + ch if ch in _SPECIAL else ch for ch in arg) + '"')
    return " ".join(parts)


def read_entry(path: Path) -> dict[str, str]:
    """The ``[Desktop Entry]`` group's keys (other groups, comments and blank lines skipped)."""
    values: dict[str, str] = {}
    group = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1]
        elif group == "Desktop Entry" and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


class XdgAutostart:
    """``companion.desktop`` in the user's autostart folder."""

    def __init__(self, folder: Path, command: list[str]) -> None:
        self.path = folder / FILE_NAME
        self._command = command

    def is_enabled(self) -> bool:
        try:
            entry = read_entry(self.path)
        except FileNotFoundError:
            return False
        if entry.get("Hidden", "").lower() == "true":
            return False
        return entry.get("X-GNOME-Autostart-enabled", "true").lower() != "false"

    def enable(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = "\n".join(
            [
                "[Desktop Entry]",
                "Type=Application",
                f"Name={APP_NAME}",
                "Comment=Rocket League stats companion",
                f"Exec={exec_line(self._command)}",
                "Terminal=false",
                "X-GNOME-Autostart-enabled=true",
                "",
            ]
        )
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(self.path)

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)
