"""The tray menu as plain values, and what each item does.

``build_menu`` turns a ``Snapshot`` (and whether start-on-login is on) into the menu's entries:
their text, enabled and checked states. The pystray glue renders those entries; the unit tests
check them without a display. ``TrayActions`` holds what each item does; the few calls that leave
the process (open a browser, open a folder) are passed in, so tests replace only that edge.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from companion.autostart import Autostart
from companion.services import Services
from companion.tray.status import Snapshot

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Entry:
    """One menu item. ``checked`` None: not a check item. ``action`` names a ``TrayActions``
    method (None for the informational lines)."""

    key: str
    text: str
    action: str | None = None
    enabled: bool = True
    checked: bool | None = None
    default: bool = False
    separator_before: bool = False


def build_menu(snapshot: Snapshot, autostart_on: bool | None) -> tuple[Entry, ...]:
    """The menu for this moment. ``autostart_on`` None: start on login is not available here."""
    entries = [
        Entry("status", snapshot.status_line(), enabled=False),
        Entry("last_match", snapshot.last_match_line(), enabled=False),
    ]
    queue = snapshot.queue_line()
    if queue is not None:
        entries.append(Entry("queue", queue, enabled=False))
    entries += [
        Entry("open", "Open dashboard", "open_dashboard", default=True, separator_before=True),
        Entry("pause", "Pause stats", "toggle_pause", checked=snapshot.paused),
        Entry(
            "autostart",
            "Start on login",
            "toggle_autostart",
            enabled=autostart_on is not None,
            checked=bool(autostart_on),
        ),
        Entry("data", "Open data folder", "open_data_folder", separator_before=True),
        Entry("logs", "Open logs", "open_logs"),
        Entry("quit", "Quit", "quit", separator_before=True),
    ]
    return tuple(entries)


def dashboard_url(base_url: str, token: str, next_path: str = "/") -> str:
    """The one-click login link: ``/auth`` swaps the token for the dashboard's session cookie."""
    return f"{base_url}/auth?token={quote(token, safe='')}&next={quote(next_path, safe='/')}"


class TrayActions:
    """What the menu items do. Each returns quickly: the tray's GUI thread calls them."""

    def __init__(
        self,
        services: Services,
        autostart: Autostart | None,
        open_url: Callable[[str], object],
        open_folder: Callable[[Path], object],
        notify: Callable[[str, str], object] = lambda title, message: None,
    ) -> None:
        self._services = services
        self.autostart = autostart
        self._open_url = open_url
        self._open_folder = open_folder
        self._notify = notify

    def autostart_on(self) -> bool | None:
        """Whether start on login is on (read from the OS each time), None when unavailable."""
        if self.autostart is None:
            return None
        try:
            return self.autostart.is_enabled()
        except OSError as exc:
            log.warning("cannot read the start-on-login state: %s", exc)
            return None

    def run(self, name: str) -> None:
        """Run the action called ``name``; a failure is logged and shown, never raised into the
        GUI loop (which would end the tray)."""
        try:
            getattr(self, name)()
        except Exception as exc:
            log.exception("tray action %s failed", name)
            self._notify("companion", f"That did not work: {exc}")

    def open_dashboard(self) -> None:
        services = self._services
        self._open_url(dashboard_url(services.base_url, services.token))

    def toggle_pause(self) -> None:
        writer = self._services.writer
        if writer.paused:
            writer.resume()
            log.info("stats resumed from the tray")
        else:
            writer.pause()
            log.info("stats paused from the tray (events are still accepted and journaled)")

    def toggle_autostart(self) -> None:
        if self.autostart is None:
            return
        if self.autostart.is_enabled():
            self.autostart.disable()
            log.info("start on login switched off")
        else:
            self.autostart.enable()
            log.info("start on login switched on")

    def open_data_folder(self) -> None:
        self._open_folder(self._services.paths.data_dir)

    def open_logs(self) -> None:
        folder = self._services.paths.log_dir
        folder.mkdir(parents=True, exist_ok=True)
        self._open_folder(folder)

    def quit(self) -> None:
        # The app owns shutdown: the request wakes the tray loop, which stops the icon and then
        # the app in the backbone's order.
        self._services.request_quit()
