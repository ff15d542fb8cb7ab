"""The desktop edge: open a link in the browser, open a folder in the file manager.

Both hand the work to a short-lived daemon thread, because the OS helpers may wait for the program
they start (``webbrowser`` waits for a ``$BROWSER`` command to exit) and the caller is often the
tray's GUI thread, which must never block.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import webbrowser
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)


def _in_background(name: str, work: Callable[[], object]) -> threading.Thread:
    def run() -> None:
        try:
            work()
        except Exception:
            log.exception("%s failed", name)

    thread = threading.Thread(target=run, name=f"companion-{name}", daemon=True)
    thread.start()
    return thread


def open_url(url: str) -> threading.Thread:
    """Open ``url`` in the default browser (``$BROWSER`` wins, as ``webbrowser`` defines)."""

    def work() -> None:
        if not webbrowser.open(url):
            log.warning("no browser could be started; open the dashboard yourself")

    return _in_background("open-url", work)


def folder_command(path: Path, platform: str = sys.platform) -> list[str] | None:
    """The command that shows ``path`` in the file manager (None on Windows: ``os.startfile``)."""
    if platform == "win32":
        return None
    if platform == "darwin":
        return ["open", str(path)]
    return ["xdg-open", str(path)]


def open_folder(path: Path) -> threading.Thread:
    """Show ``path`` in the OS's file manager."""

    def work() -> None:
        command = folder_command(path)
        if command is None:
            os.startfile(path)  # type: ignore[attr-defined]  # Windows only
            return
        # Explicit streams: a windowed build has none to inherit.
        subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
            timeout=60,
        )

    return _in_background("open-folder", work)
