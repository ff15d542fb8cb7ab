"""Start on login on macOS: a per-user LaunchAgent, ``~/Library/LaunchAgents/<label>.plist``.

``RunAtLoad`` starts companion when launchd loads the agent at login. There is no ``KeepAlive``
(launchd would start companion again after the player quits it). The plist is only written or
removed, never loaded with ``launchctl``: loading it now would start a second companion, and
unloading it would stop this one if launchd started it. The change takes effect at next login.
"""

from __future__ import annotations

import plistlib
from pathlib import Path
from typing import Any

LABEL = "app.companion.companion"


class LaunchAgentAutostart:
    """``<label>.plist`` in ``~/Library/LaunchAgents``."""

    def __init__(self, folder: Path, command: list[str], label: str = LABEL) -> None:
        self.path = folder / f"{label}.plist"
        self.label = label
        self._command = command

    def is_enabled(self) -> bool:
        try:
            with self.path.open("rb") as handle:
                agent: Any = plistlib.load(handle)
        except FileNotFoundError:
            return False
        except (plistlib.InvalidFileException, ValueError):
            return False
        if not isinstance(agent, dict):
            return False
        return agent.get("RunAtLoad") is True and agent.get("Disabled") is not True

    def enable(self) -> None:
        agent = {
            "Label": self.label,
            "ProgramArguments": list(self._command),
            "RunAtLoad": True,
            # An interactive app: launchd must not throttle it like a background daemon.
            "ProcessType": "Interactive",
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("wb") as handle:
            plistlib.dump(agent, handle)
        tmp.replace(self.path)

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)
