"""The pystray glue: show the icon on the main thread and keep it in step with the app.

Threads: the main thread runs pystray's loop (macOS requires it, and it is the same everywhere).
One refresher thread takes an in-memory ``Snapshot`` twice a second and pushes what changed
(icon image, tooltip, menu) to pystray, sends notifications, and, once the app is asked to stop
(menu Quit, SIGTERM, the quit route), stops the icon; the main thread then stops the app in the
backbone's order. pystray is imported only here and only when a tray is wanted, because importing
it without a display raises (Xlib) instead of failing politely.
"""

from __future__ import annotations

import ctypes
import importlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType, ModuleType
from typing import TYPE_CHECKING, Any

from companion.autostart import Autostart, for_platform, launch_command
from companion.tray import desktop
from companion.tray.icons import tray_image
from companion.tray.menu import Entry, TrayActions, build_menu, dashboard_url
from companion.tray.notify import Notifier
from companion.tray.status import Snapshot

if TYPE_CHECKING:
    from companion.app import CompanionApp

log = logging.getLogger(__name__)

REFRESH_S = 0.5  # state reaches the icon within a second


class TrayUnavailable(Exception):
    """No tray icon can be shown here; the message says why, in words for the player."""


def load_pystray() -> ModuleType:
    """Import pystray with a backend that has a menu, or raise ``TrayUnavailable``."""
    if sys.platform not in ("win32", "darwin") and not os.environ.get("DISPLAY"):
        # Without X (a console, SSH, or Wayland without XWayland) pystray has nothing to use.
        raise TrayUnavailable("no graphical display")
    # GTK would set up OpenGL, which a tray icon never draws with; under a software renderer
    # that maps Mesa and LLVM, about 50 MB. GDK reads GDK_GL once, as pystray initialises GTK;
    # it is taken back out at once so programs started later (browser, file manager) keep GL.
    gl_before = os.environ.get("GDK_GL")
    os.environ.setdefault("GDK_GL", "disable")
    try:
        import pystray
    except Exception as exc:  # Xlib raises its own errors, not only ImportError
        raise TrayUnavailable(f"the tray library cannot start: {exc}") from None
    finally:
        if gl_before is None:
            os.environ.pop("GDK_GL", None)
    if not pystray.Icon.HAS_MENU:
        raise TrayUnavailable(
            "only the plain X tray is available here, which has no menu; "
            "install PyGObject (Debian: python3-gi) for the tray menu"
        )
    module: ModuleType = pystray
    return module


def backend_name(pystray: ModuleType) -> str:
    """The backend pystray picked: ``gtk``, ``appindicator``, ``win32``, ``darwin``, ``xorg``."""
    return str(pystray.Icon.__module__).rsplit("._", 1)[-1]


def tray_host_present(backend: str) -> bool | None:
    """Whether something can show the icon; None when that cannot be told.

    Windows and macOS always can. On X, GTK's icon needs an XEmbed tray (a panel owning
    ``_NET_SYSTEM_TRAY_S<n>``); an AppIndicator also shows through a StatusNotifierWatcher on
    the session bus (KDE, GNOME with the AppIndicator extension).
    """
    if backend in ("win32", "darwin"):
        return None
    xembed = _xembed_host()
    if xembed or backend != "appindicator":
        return xembed
    return True if _status_notifier_watcher() else xembed


def _xembed_host() -> bool | None:
    # Asked of libX11 directly: GTK has it loaded already, where python-xlib would add 3 to
    # 4 MB of modules (its protocol tables and every extension) to the idle app for one query.
    try:
        x11 = ctypes.CDLL("libX11.so.6")
    except OSError:
        return None
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XDefaultScreen.argtypes = [ctypes.c_void_p]
    x11.XInternAtom.restype = ctypes.c_ulong
    x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x11.XGetSelectionOwner.restype = ctypes.c_ulong
    x11.XGetSelectionOwner.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    conn = x11.XOpenDisplay(None)
    if not conn:
        return None
    try:
        name = f"_NET_SYSTEM_TRAY_S{x11.XDefaultScreen(conn)}".encode()
        atom = x11.XInternAtom(conn, name, 0)
        return bool(x11.XGetSelectionOwner(conn, atom) != 0)  # 0 is None (no owner)
    finally:
        x11.XCloseDisplay(conn)


def _status_notifier_watcher() -> bool:
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS") and not (
        runtime and os.path.exists(os.path.join(runtime, "bus"))
    ):
        return False  # no session bus (and Gio must not autolaunch one)
    try:
        gio: Any = importlib.import_module("gi.repository.Gio")
        glib: Any = importlib.import_module("gi.repository.GLib")
        bus = gio.bus_get_sync(gio.BusType.SESSION, None)
        reply = bus.call_sync(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "NameHasOwner",
            glib.Variant("(s)", ("org.kde.StatusNotifierWatcher",)),
            None,
            gio.DBusCallFlags.NONE,
            2000,
            None,
        )
        return bool(reply.unpack()[0])
    except Exception:
        return False


class Tray:
    """The tray icon of one running app: its menu, its look and its refresher thread."""

    def __init__(
        self,
        app: CompanionApp,
        pystray: ModuleType,
        autostart: Autostart | None,
        open_url: Callable[[str], object] = desktop.open_url,
        open_folder: Callable[[Path], object] = desktop.open_folder,
    ) -> None:
        self._app = app
        self._services = app.services
        self._pystray = pystray
        self._open_url = open_url
        self.actions = TrayActions(
            self._services, autostart, self._open_dashboard_url, open_folder, self._notify
        )
        self._notifier = Notifier(self._notify, lambda: self._services.settings)
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()
        self._tooltip = ""
        snapshot = Snapshot.take(self._services)
        self._entries = build_menu(snapshot, self.actions.autostart_on())
        self._state = snapshot.icon_state
        self._notifier.observe(snapshot)
        self.icon: Any = pystray.Icon(
            "companion",
            tray_image(self._state),
            snapshot.tooltip(),
            menu=pystray.Menu(self._items),
        )
        self._refresher = threading.Thread(
            target=self._refresh_loop, name="companion-tray", daemon=True
        )

    # -- the menu -------------------------------------------------------------------------------

    def entries(self) -> tuple[Entry, ...]:
        with self._lock:
            return self._entries

    def _items(self) -> tuple[Any, ...]:
        """pystray's items for the current entries (pystray calls this when it builds the menu)."""
        pystray = self._pystray
        items: list[Any] = []
        for entry in self.entries():
            if entry.separator_before:
                items.append(pystray.Menu.SEPARATOR)
            checked = None if entry.checked is None else (lambda item, v=entry.checked: v)
            items.append(
                pystray.MenuItem(
                    entry.text,
                    self._callback(entry.action),
                    checked=checked,
                    enabled=entry.enabled,
                    default=entry.default,
                )
            )
        return tuple(items)

    def _callback(self, action: str | None) -> Callable[[Any, Any], None] | None:
        if action is None:
            return None

        def activate(icon: Any, item: Any) -> None:
            self.actions.run(action)
            # pystray rebuilds the menu right after this returns: give it the new state.
            self.refresh()

        return activate

    def _open_dashboard_url(self, url: str) -> object:
        # The browser takes a moment to start: the pages are built meanwhile, not after.
        self._app.build_api_now()
        return self._open_url(url)

    def _notify(self, title: str, message: str) -> None:
        if not getattr(self.icon, "HAS_NOTIFICATION", False):
            log.info("notification (not shown, no support here): %s: %s", title, message)
            return
        try:
            self.icon.notify(message, title)
        except Exception:
            log.warning("could not show a notification: %s: %s", title, message, exc_info=True)

    # -- keeping the icon in step ---------------------------------------------------------------

    def refresh(self) -> None:
        """Push what changed since the last refresh to the icon, menu and notifications.

        Called by the refresher thread and, after a menu action, by the GUI thread: one at a
        time, so each change is seen (and notified) once."""
        with self._refreshing:
            self._refresh()

    def _refresh(self) -> None:
        snapshot = Snapshot.take(self._services)
        entries = build_menu(snapshot, self.actions.autostart_on())
        state = snapshot.icon_state
        with self._lock:
            menu_changed = entries != self._entries
            self._entries = entries
            state_changed, self._state = state != self._state, state
        if state_changed:
            self.icon.icon = tray_image(state)
        self._set_tooltip(snapshot.tooltip())
        if menu_changed:
            self.icon.update_menu()
        self._notifier.observe(snapshot)

    def _set_tooltip(self, text: str) -> None:
        if text == self._tooltip:
            return
        self._tooltip = text
        self.icon.title = text  # the tooltip on Windows; the accessible name elsewhere
        status_icon = getattr(self.icon, "_status_icon", None)
        if status_icon is not None:
            # pystray's GTK backend sets only the title, which GTK never shows on hover; the
            # tooltip is set on GTK's own thread, like every other change to the icon.
            glib: Any = importlib.import_module("gi.repository.GLib")
            glib.idle_add(status_icon.set_tooltip_text, text)

    def _refresh_loop(self) -> None:
        stop = self._app.stop_requested
        while not stop.wait(REFRESH_S):
            try:
                self.refresh()
            except Exception:
                log.exception("the tray could not refresh")
        self.icon.stop()

    def _setup(self, icon: Any) -> None:
        # Runs in pystray's setup thread; kept short, because stop() waits for it.
        icon.visible = True
        self._set_tooltip(icon.title)
        if backend_name(self._pystray) in ("gtk", "appindicator"):
            self._catch_ctrl_c()
        log.info("tray icon shown")
        self._refresher.start()

    def _catch_ctrl_c(self) -> None:
        # pystray's GTK backends reset SIGINT to the default (die at once) when their loop
        # starts; GLib's own handler, run by that loop, makes Ctrl+C a clean stop again.
        stop = self._app.stop_requested

        def on_interrupt() -> bool:
            stop.set()
            return True  # keep the handler

        glib: Any = importlib.import_module("gi.repository.GLib")
        glib.unix_signal_add(glib.PRIORITY_DEFAULT, signal.SIGINT, on_interrupt)

    def run(self) -> None:
        """Show the icon until the app is asked to stop (blocks; main thread)."""
        try:
            self.icon.run(self._setup)
        except Exception:
            # The GTK backends raise at shutdown when no notification service is on D-Bus.
            log.warning("the tray loop ended with an error", exc_info=True)
        self._app.stop_requested.set()


def run_with_tray(
    app: CompanionApp,
    say: Callable[[str], None],
    *,
    first_start: bool,
    data_dir: Path | None,
    open_url: Callable[[str], object] = desktop.open_url,
) -> int:
    """Run the started ``app`` with a tray icon, or headless where none can be shown.

    Returns the exit code (0) once the app has stopped. Without a tray the player is told once
    and, on the first start of this data folder, the dashboard opens in the browser, so they are
    never left without a way in.
    """
    services = app.services
    try:
        pystray = load_pystray()
        if tray_host_present(backend_name(pystray)) is False:
            raise TrayUnavailable("no system tray is running on this desktop")
    except TrayUnavailable as exc:
        say(f"companion: no tray icon ({exc}); running without one; dashboard: {app.url}/")
        if first_start:
            open_url(dashboard_url(services.base_url, services.token))
        return app.run_headless()
    autostart = for_platform(launch_command(data_dir))
    tray = Tray(app, pystray, autostart)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        app.stop_requested.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        tray.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        app.stop()
    return 0
