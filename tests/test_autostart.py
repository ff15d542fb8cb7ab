"""Start on login. Linux for real (files under a temporary XDG_CONFIG_HOME); macOS and Windows
through the plist file and a dictionary standing in for the registry (the OS edge)."""

from __future__ import annotations

import plistlib
import sys
from pathlib import Path

import pytest

from companion.autostart import for_platform, launch_command
from companion.autostart.launchagent import LaunchAgentAutostart
from companion.autostart.windows import (
    APPROVED_ENABLED,
    APPROVED_KEY,
    RUN_KEY,
    RunKeyAutostart,
    approved,
)
from companion.autostart.xdg import XdgAutostart, autostart_dir, exec_line, read_entry

COMMAND = ["/opt/My Apps/companion", "--data-dir", "/home/p/stats 100%"]


class FakeRegistry:
    """HKEY_CURRENT_USER as a dictionary: the only fake, standing where winreg would."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], object] = {}

    def get(self, key: str, name: str) -> object | None:
        return self.values.get((key, name))

    def set_string(self, key: str, name: str, value: str) -> None:
        self.values[(key, name)] = value

    def set_binary(self, key: str, name: str, value: bytes) -> None:
        self.values[(key, name)] = value

    def delete(self, key: str, name: str) -> None:
        self.values.pop((key, name), None)


# -- Linux ------------------------------------------------------------------------------------


def test_xdg_follows_xdg_config_home(tmp_path: Path) -> None:
    assert autostart_dir({"XDG_CONFIG_HOME": str(tmp_path)}, Path("/h")) == tmp_path / "autostart"
    assert autostart_dir({"XDG_CONFIG_HOME": "relative"}, Path("/h")) == Path(
        "/h/.config/autostart"
    )
    assert autostart_dir({}, Path("/h")) == Path("/h/.config/autostart")


def test_xdg_enable_writes_a_desktop_entry_and_disable_removes_it(tmp_path: Path) -> None:
    switch = XdgAutostart(tmp_path / "autostart", COMMAND)
    assert not switch.is_enabled()
    switch.enable()
    entry = read_entry(switch.path)
    assert entry["Type"] == "Application" and entry["Name"] == "companion"
    assert entry["Exec"] == '"/opt/My Apps/companion" --data-dir "/home/p/stats 100%%"'
    assert switch.is_enabled()
    switch.disable()
    assert not switch.path.exists() and not switch.is_enabled()
    switch.disable()  # twice is fine


@pytest.mark.parametrize(
    ("line", "enabled"),
    [("Hidden=true", False), ("X-GNOME-Autostart-enabled=false", False), ("Hidden=false", True)],
)
def test_xdg_reads_the_disabled_flags(tmp_path: Path, line: str, enabled: bool) -> None:
    switch = XdgAutostart(tmp_path, COMMAND)
    switch.path.write_text(
        f"# edited by the desktop\n[Desktop Entry]\nType=Application\nExec=companion\n{line}\n"
        "[Desktop Action x]\nHidden=true\n",
        encoding="utf-8",
    )
    assert switch.is_enabled() is enabled


def test_exec_line_quoting() -> None:
    assert exec_line(["/usr/bin/companion"]) == "/usr/bin/companion"
    assert exec_line(['a"b', "c$d", "e`f", "g\\h"]) == r'"a\"b" "c\$d" "e\`f" "g\\h"'
    assert exec_line([""]) == '""'


# -- macOS ------------------------------------------------------------------------------------


def test_launch_agent_plist(tmp_path: Path) -> None:
    switch = LaunchAgentAutostart(tmp_path / "LaunchAgents", COMMAND)
    assert not switch.is_enabled()
    switch.enable()
    assert switch.path.name == "app.companion.companion.plist"
    agent = plistlib.loads(switch.path.read_bytes())
    assert agent == {
        "Label": "app.companion.companion",
        "ProgramArguments": COMMAND,
        "RunAtLoad": True,
        "ProcessType": "Interactive",
    }
    assert "KeepAlive" not in agent  # Quit must not be undone by launchd
    assert switch.is_enabled()
    switch.disable()
    assert not switch.path.exists() and not switch.is_enabled()


def test_launch_agent_disabled_or_damaged(tmp_path: Path) -> None:
    switch = LaunchAgentAutostart(tmp_path, COMMAND)
    switch.enable()
    agent = plistlib.loads(switch.path.read_bytes())
    switch.path.write_bytes(plistlib.dumps({**agent, "Disabled": True}))
    assert not switch.is_enabled()
    switch.path.write_bytes(b"not a plist")
    assert not switch.is_enabled()
    switch.enable()
    assert switch.is_enabled()


# -- Windows ----------------------------------------------------------------------------------


def test_run_key_enable_and_disable() -> None:
    registry = FakeRegistry()
    switch = RunKeyAutostart(registry, COMMAND)
    assert not switch.is_enabled()
    switch.enable()
    assert registry.values == {
        (RUN_KEY, "companion"): '"/opt/My Apps/companion" --data-dir "/home/p/stats 100%"'
    }
    assert switch.is_enabled()
    switch.disable()
    assert registry.values == {} and not switch.is_enabled()


def test_run_key_respects_startup_approved() -> None:
    registry = FakeRegistry()
    switch = RunKeyAutostart(registry, COMMAND)
    switch.enable()
    # Task Manager's "Disable": the Run value stays, the flag turns odd.
    registry.set_binary(APPROVED_KEY, "companion", bytes([3]) + bytes(11))
    assert not switch.is_enabled()
    switch.enable()  # the player switches it on again from the tray
    assert registry.get(APPROVED_KEY, "companion") == APPROVED_ENABLED
    assert switch.is_enabled()
    switch.disable()
    assert registry.values == {}


@pytest.mark.parametrize(
    ("flag", "allowed"),
    [
        (None, True),
        (bytes([2]) + bytes(11), True),
        (bytes([6]) + bytes(11), True),
        (bytes([3]) + bytes(11), False),
        (bytes([1]) + bytes(11), False),
        (bytes([7]) + bytes(11), False),
        (b"", True),
    ],
)
def test_startup_approved_flag(flag: bytes | None, allowed: bool) -> None:
    assert approved(flag) is allowed


# -- choosing and the command -----------------------------------------------------------------


def test_for_platform_picks_the_os_mechanism(tmp_path: Path) -> None:
    mac = for_platform(["x"], platform="darwin", home=tmp_path)
    assert isinstance(mac, LaunchAgentAutostart)
    assert mac.path.parent == tmp_path / "Library" / "LaunchAgents"
    linux = for_platform(["x"], platform="linux", environ={}, home=tmp_path)
    assert isinstance(linux, XdgAutostart)
    assert linux.path == tmp_path / ".config" / "autostart" / "companion.desktop"


def test_launch_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert launch_command() == [sys.executable, "-m", "companion"]
    assert launch_command(tmp_path)[-2:] == ["--data-dir", str(tmp_path)]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert launch_command() == [sys.executable]
