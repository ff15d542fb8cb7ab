"""Start on login on Windows: the ``HKCU\\...\\CurrentVersion\\Run`` key and ``StartupApproved``.

Explorer starts every value under the Run key at login, unless its twin under
``Explorer\\StartupApproved\\Run`` is marked disabled. Task Manager's and Settings' "Disabled"
keep the Run value and write that 12-byte flag: an even first byte (02, 06) means enabled, an odd
one (01, 03, 07) disabled. So the real state needs both, and companion never re-enables an entry
the player disabled there unless they switch it on again from the tray menu.

The registry is reached through ``Registry``: ``WinRegistry`` wraps ``winreg`` (imported only
when used, so this module imports anywhere); tests pass a dictionary-backed fake.
"""

from __future__ import annotations

import importlib
import subprocess
from typing import Any, Protocol

from companion.autostart import APP_NAME

RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
APPROVED_KEY = r"Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run"
APPROVED_ENABLED = bytes([2]) + bytes(11)


class Registry(Protocol):
    """The few HKEY_CURRENT_USER operations start-on-login needs (the OS edge)."""

    def get(self, key: str, name: str) -> object | None: ...

    def set_string(self, key: str, name: str, value: str) -> None: ...

    def set_binary(self, key: str, name: str, value: bytes) -> None: ...

    def delete(self, key: str, name: str) -> None: ...


class WinRegistry:
    """``Registry`` on the real ``winreg`` of HKEY_CURRENT_USER."""

    def __init__(self) -> None:
        self._winreg: Any = importlib.import_module("winreg")

    def get(self, key: str, name: str) -> object | None:
        winreg = self._winreg
        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key) as handle:
                value, _kind = winreg.QueryValueEx(handle, name)
        except FileNotFoundError:
            return None
        return value  # type: ignore[no-any-return]

    def _set(self, key: str, name: str, kind: int, value: object) -> None:
        winreg = self._winreg
        with winreg.CreateKeyEx(winreg.HKEY_CURRENT_USER, key, 0, winreg.KEY_SET_VALUE) as handle:
            winreg.SetValueEx(handle, name, 0, kind, value)

    def set_string(self, key: str, name: str, value: str) -> None:
        self._set(key, name, self._winreg.REG_SZ, value)

    def set_binary(self, key: str, name: str, value: bytes) -> None:
        self._set(key, name, self._winreg.REG_BINARY, value)

    def delete(self, key: str, name: str) -> None:
        winreg = self._winreg
        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key, 0, winreg.KEY_SET_VALUE) as handle:
                winreg.DeleteValue(handle, name)
        except FileNotFoundError:
            pass


def approved(flag: object | None) -> bool:
    """Whether a ``StartupApproved`` value allows the entry (no value: allowed)."""
    if flag is None:
        return True
    if not isinstance(flag, bytes | bytearray) or not flag:
        return True
    return flag[0] % 2 == 0


class RunKeyAutostart:
    """The ``companion`` value under the Run key, respecting ``StartupApproved``."""

    def __init__(self, registry: Registry, command: list[str], name: str = APP_NAME) -> None:
        self._registry = registry
        self._command = command
        self.name = name

    @property
    def command_line(self) -> str:
        return subprocess.list2cmdline(self._command)

    def is_enabled(self) -> bool:
        if not self._registry.get(RUN_KEY, self.name):
            return False
        return approved(self._registry.get(APPROVED_KEY, self.name))

    def enable(self) -> None:
        self._registry.set_string(RUN_KEY, self.name, self.command_line)
        # Switched on from the tray: the player's explicit wish overrides an old "Disabled".
        if not approved(self._registry.get(APPROVED_KEY, self.name)):
            self._registry.set_binary(APPROVED_KEY, self.name, APPROVED_ENABLED)

    def disable(self) -> None:
        self._registry.delete(RUN_KEY, self.name)
        self._registry.delete(APPROVED_KEY, self.name)
