"""Start on login: one small interface, three OS implementations.

- Windows: a value under ``HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run``, read
  together with Explorer's ``StartupApproved`` flag (Task Manager's "Disabled" keeps the Run value
  and only flips that flag), see ``companion.autostart.windows``.
- macOS: a per-user LaunchAgent plist with ``RunAtLoad``, see ``companion.autostart.launchagent``.
- Linux and other XDG desktops: ``$XDG_CONFIG_HOME/autostart/companion.desktop``, see
  ``companion.autostart.xdg``.

Each implementation reads the real state every time it is asked (the player may change it in the
OS's own settings), and keeps its OS calls (registry, file system) at one edge that tests replace
or point at a temporary folder.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

APP_NAME = "companion"


class Autostart(Protocol):
    """Whether companion starts when the player logs in, and the switch to change it."""

    def is_enabled(self) -> bool: ...

    def enable(self) -> None: ...

    def disable(self) -> None: ...


def launch_command(data_dir: Path | None = None) -> list[str]:
    """The command that starts this companion as it runs now.

    A frozen build starts its own executable; from source it is this interpreter with
    ``-m companion`` (``pythonw`` on Windows, so no console window opens at login). A portable
    data folder (``--data-dir``) is kept, so login starts the same installation.
    """
    if getattr(sys, "frozen", False):
        command = [sys.executable]
    else:
        python = Path(sys.executable)
        windowless = python.with_name("pythonw.exe")
        if sys.platform == "win32" and windowless.exists():
            python = windowless
        command = [str(python), "-m", APP_NAME]
    if data_dir is not None:
        command += ["--data-dir", str(data_dir)]
    return command


def for_platform(
    command: list[str],
    platform: str = sys.platform,
    environ: Mapping[str, str] = os.environ,
    home: Path | None = None,
) -> Autostart:
    """The start-on-login switch for ``platform`` (``sys.platform`` values)."""
    home = home if home is not None else Path.home()
    if platform == "win32":
        from companion.autostart.windows import RunKeyAutostart, WinRegistry

        return RunKeyAutostart(WinRegistry(), command)
    if platform == "darwin":
        from companion.autostart.launchagent import LaunchAgentAutostart

        return LaunchAgentAutostart(home / "Library" / "LaunchAgents", command)
    from companion.autostart.xdg import XdgAutostart, autostart_dir

    return XdgAutostart(autostart_dir(environ, home), command)
