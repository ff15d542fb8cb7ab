"""``companion setup-game``: discovery on fake Windows and Linux trees, byte-exact ini editing,
backups, dry runs, rate checks, refused writes and the command end to end.

Every tree is built under tmp_path and every ``Environment`` points there: nothing here looks at
the real user's folders or the real game.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path

import pytest

from companion import cli, gamesetup
from companion.gamefiles import Environment, IniLocation, discover
from companion.gameini import (
    decode_ini,
    diff_lines,
    enable_feed,
    format_rate,
    parse_rate,
    read_stats_api,
)

# The August 2026 Steam file as GOINI quotes it, with CRLF, as the game writes it.
SHIPPED = (
    b"[TAGame.MatchStatsExporter_TA]\r\n"
    b"; Port the client will listen for tcp connections on (must be different than WebPort, "
    b"set to 0 to disable)\r\n"
    b"Port=49123\r\n"
    b"; Port the client will listen for web connections on (must be different than Port, "
    b"set to 0 to disable)\r\n"
    b"WebPort=49124\r\n"
    b"; How many times per second the game sends the update state (capped at 120, 0 disables "
    b"this feature)\r\n"
    b"PacketSendRate=0\r\n"
)
USER_FILE = (
    b"\xef\xbb\xbf[IniVersion]\r\n"
    b"0=1780000000.000000\r\n"
    b"\r\n"
    b"[TAGame.MatchStatsExporter_TA]\r\n"
    b"; How many times per second\r\n"
    b"Port=49123\r\n"
    b"PacketSendRate = 0\r\n"
    b"\r\n"
    b"[Core.System]\r\n"
    b"PacketSendRate=7\r\n"
    b"Paths=..\\..\\TAGame\\CookedPCConsole\r\n"
)
USER_INI = ("My Games", "Rocket League", "TAGame", "Config", "TAStatsAPI.ini")
INSTALL_INI = ("TAGame", "Config", "DefaultStatsAPI.ini")


def _put(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def _windows(root: Path) -> Environment:
    return Environment(
        platform="win32",
        home="C:\\Users\\Ann",
        variables={
            "USERPROFILE": "C:\\Users\\Ann",
            "PROGRAMFILES": "C:\\Program Files",  # Windows names are case-insensitive
            "ProgramFiles(x86)": "C:\\Program Files (x86)",
            "ProgramData": "C:\\ProgramData",
            "APPDATA": "C:\\Users\\Ann\\AppData\\Roaming",
        },
        root=root,
    )


def _linux(root: Path) -> Environment:
    return Environment(platform="linux", home="/home/ann", variables={}, root=root)


def _args(
    *, rate: str = "30", ini: list[Path] | None = None, dry: bool = False
) -> argparse.Namespace:
    return argparse.Namespace(setup_rate=rate, setup_ini=ini, setup_dry_run=dry)


def _backups(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.companion-backup-*"))


# --- discovery ---------------------------------------------------------------------------------


def test_environment_maps_paths_under_its_root(tmp_path: Path) -> None:
    env = _windows(tmp_path)
    assert (
        env.path("C:\\Program Files (x86)\\Steam")
        == tmp_path / "C" / "Program Files (x86)" / "Steam"
    )
    assert env.path("d:/SteamLibrary") == tmp_path / "D" / "SteamLibrary"
    assert env.var("ProgramFiles") == "C:\\Program Files"
    assert _linux(tmp_path).path("/home/ann/.steam") == tmp_path / "home" / "ann" / ".steam"
    assert Environment(platform="linux", home="/h").path("/h/x") == Path("/h/x")


def test_windows_discovery_finds_steam_libraries_epic_heroic_and_documents(tmp_path: Path) -> None:
    steam = tmp_path / "C" / "Program Files (x86)" / "Steam"
    _put(
        steam / "steamapps" / "libraryfolders.vdf",
        '"libraryfolders"\n{\n\t"0"\n\t{\n\t\t"path"\t\t"C:\\\\Program Files (x86)\\\\Steam"\n'
        '\t\t"apps"\n\t\t{\n\t\t\t"228980"\t\t"1234"\n\t\t}\n\t}\n'
        '\t"1"\n\t{\n\t\t"path"\t\t"D:\\\\SteamLibrary"\n\t\t"apps"\n\t\t{\n'
        '\t\t\t"252950"\t\t"25000000000"\n\t\t}\n\t}\n}\n',
    )
    default_game = steam / "steamapps" / "common" / "rocketleague"
    _put(default_game.joinpath(*INSTALL_INI), SHIPPED)
    second_game = tmp_path / "D" / "SteamLibrary" / "steamapps" / "common" / "rocketleague"
    _put(second_game.joinpath(*INSTALL_INI), SHIPPED)

    manifests = tmp_path / "C" / "ProgramData" / "Epic" / "EpicGamesLauncher" / "Data" / "Manifests"
    epic_game = tmp_path / "E" / "Epic" / "rocketleague"
    _put(epic_game.joinpath(*INSTALL_INI), SHIPPED)
    item = {
        "AppName": "Sugar",
        "DisplayName": "Rocket League®",
        "InstallLocation": "E:\\Epic\\rocketleague",
    }
    _put(manifests / "A1B2.item", json.dumps(item))
    other = {
        "AppName": "Fortnite",
        "DisplayName": "Fortnite",
        "InstallLocation": "E:\\Epic\\Fortnite",
    }
    _put(manifests / "C3D4.item", json.dumps(other))
    (tmp_path / "E" / "Epic" / "Fortnite").mkdir(parents=True)
    _put(manifests / "broken.item", "{not json")

    heroic_game = tmp_path / "F" / "Heroic" / "rocketleague"
    heroic_game.mkdir(parents=True)  # installed, but no ini there: listed, shown as missing
    installed = {
        "Sugar": {
            "app_name": "Sugar",
            "title": "Rocket League®",
            "install_path": "F:\\Heroic\\rocketleague",
        }
    }
    roaming = tmp_path / "C" / "Users" / "Ann" / "AppData" / "Roaming"
    _put(
        roaming / "heroic" / "legendaryConfig" / "legendary" / "installed.json",
        json.dumps(installed),
    )

    documents = tmp_path / "C" / "Users" / "Ann" / "Documents"
    _put(documents.joinpath(*USER_INI), USER_FILE)

    found = discover(_windows(tmp_path))
    assert [(location.kind, location.where, location.ini) for location in found.locations] == [
        ("install", "Steam game folder", default_game.joinpath(*INSTALL_INI)),
        ("install", "Steam game folder", second_game.joinpath(*INSTALL_INI)),
        ("install", "Epic Games game folder", epic_game.joinpath(*INSTALL_INI)),
        ("install", "Heroic game folder", heroic_game.joinpath(*INSTALL_INI)),
        ("user", "Documents", documents.joinpath(*USER_INI)),
    ]
    # Where it looked includes the defaults that are not there, each once.
    assert tmp_path / "C" / "Program Files" / "Epic Games" / "rocketleague" in found.searched
    assert len(found.searched) == len(set(found.searched))


def test_windows_discovery_uses_the_real_documents_folder_and_steam_from_the_registry(
    tmp_path: Path,
) -> None:
    onedrive = tmp_path / "C" / "Users" / "Ann" / "OneDrive" / "Documents"
    _put(onedrive.joinpath(*USER_INI), USER_FILE)
    game = tmp_path / "G" / "Steam" / "steamapps" / "common" / "rocketleague"
    _put(game.joinpath(*INSTALL_INI), SHIPPED)
    env = Environment(
        platform="win32",
        home="C:\\Users\\Ann",
        variables={"USERPROFILE": "C:\\Users\\Ann"},
        root=tmp_path,
        documents="C:\\Users\\Ann\\OneDrive\\Documents",
        steam_path="g:/Steam",
    )
    inis = [location.ini for location in discover(env).locations]
    assert inis == [game.joinpath(*INSTALL_INI), onedrive.joinpath(*USER_INI)]


def test_linux_discovery_finds_steam_proton_and_heroic(tmp_path: Path) -> None:
    home = tmp_path / "home" / "ann"
    steam = home / ".local" / "share" / "Steam"
    (home / ".steam").mkdir(parents=True)
    (home / ".steam" / "steam").symlink_to(steam, target_is_directory=True)  # the usual symlink
    _put(
        steam / "steamapps" / "libraryfolders.vdf",
        '"libraryfolders"\n{\n\t"0"\n\t{\n\t\t"path"\t\t"/home/ann/.local/share/Steam"\n\t}\n'
        '\t"1"\n\t{\n\t\t"path"\t\t"/mnt/games/SteamLibrary"\n\t}\n}\n',
    )
    library = tmp_path / "mnt" / "games" / "SteamLibrary" / "steamapps"
    game = library / "common" / "rocketleague"
    _put(game.joinpath(*INSTALL_INI), SHIPPED)
    proton = library / "compatdata" / "252950" / "pfx" / "drive_c" / "users" / "steamuser"
    _put((proton / "Documents").joinpath(*USER_INI), USER_FILE)

    heroic_game = home / "Games" / "Heroic" / "rocketleague"
    _put(heroic_game.joinpath(*INSTALL_INI), SHIPPED)
    prefix = home / "Games" / "Heroic" / "Prefixes" / "default" / "Rocket League"
    _put((prefix / "drive_c" / "users" / "ann" / "Documents").joinpath(*USER_INI), USER_FILE)
    (prefix / "drive_c" / "users" / "Public").mkdir()

    found = discover(_linux(tmp_path))
    assert [(location.kind, location.where, location.ini) for location in found.locations] == [
        ("install", "Steam game folder", game.joinpath(*INSTALL_INI)),
        ("user", "Documents (Steam Proton prefix)", (proton / "Documents").joinpath(*USER_INI)),
        ("install", "Heroic game folder", heroic_game.joinpath(*INSTALL_INI)),
        (
            "user",
            "Documents (Heroic prefix)",
            (prefix / "drive_c" / "users" / "ann" / "Documents").joinpath(*USER_INI),
        ),
    ]


def test_linux_discovery_reads_heroic_install_paths_and_prefixes(tmp_path: Path) -> None:
    home = tmp_path / "home" / "ann"
    config = home / ".config" / "heroic"
    installed = {"Sugar": {"title": "Rocket League®", "install_path": "/games/rl/rocketleague"}}
    _put(config / "legendaryConfig" / "legendary" / "installed.json", json.dumps(installed))
    game = tmp_path / "games" / "rl" / "rocketleague"
    _put(game.joinpath(*INSTALL_INI), SHIPPED)
    games_config = {"Sugar": {"winePrefix": "/games/prefixes/RL"}}
    _put(config / "GamesConfig" / "Sugar.json", json.dumps(games_config))
    documents = tmp_path / "games" / "prefixes" / "RL" / "pfx" / "drive_c" / "users" / "steamuser"
    user_ini = (documents / "Documents").joinpath(*USER_INI)
    _put(user_ini, USER_FILE)

    inis = [location.ini for location in discover(_linux(tmp_path)).locations]
    assert inis == [game.joinpath(*INSTALL_INI), user_ini]


def test_nothing_installed_finds_nothing_and_says_where_it_looked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = _windows(tmp_path)
    assert discover(env).locations == []
    assert gamesetup.run(_args(), env) == 1
    err = capsys.readouterr().err
    assert "found no Stats API ini file" in err
    for place in ("Program Files (x86)/Steam", "Epic Games", "Heroic", "Documents"):
        assert place in err
    assert "--ini" in err


def test_other_platforms_need_ini(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = Environment(platform="darwin", home="/Users/ann", root=tmp_path)
    assert gamesetup.run(_args(), env) == 1
    assert "--ini" in capsys.readouterr().err


# --- the ini text ------------------------------------------------------------------------------


def test_read_values_from_the_section_only() -> None:
    settings = read_stats_api(decode_ini(USER_FILE).text)
    assert settings.has_section
    assert (settings.packet_send_rate, settings.port, settings.web_port) == ("0", "49123", None)
    assert settings.rate == 0.0 and not settings.enabled
    shipped = read_stats_api(SHIPPED.decode())
    assert (shipped.port, shipped.web_port) == ("49123", "49124")
    odd = read_stats_api(
        "[tagame.matchstatsexporter_ta]\n;PacketSendRate=60\npacketsendrate=29.97\n"
    )
    assert odd.packet_send_rate == "29.97" and odd.enabled
    assert not read_stats_api("[Other]\nPort=1\n").has_section


def test_enabling_changes_only_the_value_keeping_crlf_bom_and_everything_else() -> None:
    ini = decode_ini(USER_FILE)
    assert (ini.encoding, ini.bom) == ("utf-8", b"\xef\xbb\xbf")
    after = ini.encode(enable_feed(ini.text, 30))
    # Byte for byte: only the one value, in the one section; [Core.System] keeps its 7.
    assert after == USER_FILE.replace(b"PacketSendRate = 0\r\n", b"PacketSendRate = 30\r\n")
    shipped = decode_ini(SHIPPED)
    assert shipped.encode(enable_feed(shipped.text, 29.97)) == SHIPPED.replace(
        b"PacketSendRate=0\r\n", b"PacketSendRate=29.97\r\n"
    )


def test_a_missing_key_is_added_after_the_section_s_last_key() -> None:
    original = SHIPPED.replace(b"PacketSendRate=0\r\n", b"") + b"\r\n[Other]\r\nA=1\r\n"
    ini = decode_ini(original)
    after = ini.encode(enable_feed(ini.text, 60))
    assert after == original.replace(
        b"WebPort=49124\r\n", b"WebPort=49124\r\nPacketSendRate=60\r\n"
    )
    # A last line without a newline keeps the file's style: the new line ends the file the same way.
    assert enable_feed("[TAGame.MatchStatsExporter_TA]\nPort=1", 30) == (
        "[TAGame.MatchStatsExporter_TA]\nPort=1\nPacketSendRate=30"
    )


def test_a_missing_section_is_appended() -> None:
    original = b"[IniVersion]\r\n0=1.0\r\n"
    ini = decode_ini(original)
    after = ini.encode(enable_feed(ini.text, 30))
    assert after == original + b"\r\n[TAGame.MatchStatsExporter_TA]\r\nPacketSendRate=30\r\n"
    assert (
        enable_feed("[A]\nb=1", 30)
        == "[A]\nb=1\n\n[TAGame.MatchStatsExporter_TA]\nPacketSendRate=30\n"
    )
    assert enable_feed("", 30) == "[TAGame.MatchStatsExporter_TA]\r\nPacketSendRate=30\r\n"


def test_the_same_rate_changes_nothing_and_duplicates_are_all_set() -> None:
    text = "[TAGame.MatchStatsExporter_TA]\r\nPacketSendRate=30.0\r\n"
    assert enable_feed(text, 30) == text
    section = "[TAGame.MatchStatsExporter_TA]\n"
    twice = f"{section}PacketSendRate=0\n[X]\n{section}PacketSendRate=30\n"
    assert enable_feed(twice, 30) == twice.replace("PacketSendRate=0", "PacketSendRate=30")


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (b"; caf\xe9 cr\xe8me\r\n" + SHIPPED, "latin-1"),  # not UTF-8: kept byte for byte
        ("; café\n".encode() + SHIPPED, "utf-8"),
        (b"\xff\xfe" + SHIPPED.decode().encode("utf-16-le"), "utf-16-le"),
    ],
)
def test_other_encodings_round_trip(data: bytes, encoding: str) -> None:
    ini = decode_ini(data)
    assert ini.encoding == encoding
    assert ini.encode(ini.text) == data
    after = ini.encode(enable_feed(ini.text, 30))
    before_line = "PacketSendRate=0\r\n".encode(encoding)
    after_line = "PacketSendRate=30\r\n".encode(encoding)
    assert after == data.replace(before_line, after_line)


def test_the_diff_shows_the_changed_line_with_the_file_name() -> None:
    before = SHIPPED.decode()
    lines = diff_lines(before, enable_feed(before, 30), "DefaultStatsAPI.ini")
    assert lines[0] == "--- DefaultStatsAPI.ini (now)"
    assert lines[1] == "+++ DefaultStatsAPI.ini (after)"
    assert [line for line in lines if line[:1] in "-+" and line[:3] not in ("---", "+++")] == [
        "-PacketSendRate=0",
        "+PacketSendRate=30",
    ]


@pytest.mark.parametrize(
    ("text", "value"), [("1", 1.0), ("120", 120.0), ("29.97", 29.97), (" 60 ", 60.0)]
)
def test_good_rates(text: str, value: float) -> None:
    assert parse_rate(text) == value


@pytest.mark.parametrize(
    "text", ["0", "0.5", "121", "120.01", "-5", "abc", "", "nan", "inf", "1e2", "1_0", "30,5"]
)
def test_bad_rates(text: str) -> None:
    with pytest.raises(ValueError, match="--rate must be"):
        parse_rate(text)


def test_rates_print_as_short_as_they_read() -> None:
    assert [format_rate(value) for value in (30.0, 29.97, 120, 1.5)] == [
        "30",
        "29.97",
        "120",
        "1.5",
    ]


# --- the command on files ----------------------------------------------------------------------


def test_enable_writes_a_backup_of_the_original_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ini = _put(tmp_path / "TAStatsAPI.ini", USER_FILE)
    assert gamesetup.run(_args(rate="60", ini=[ini]), _linux(tmp_path)) == 0
    assert ini.read_bytes() == USER_FILE.replace(b"PacketSendRate = 0", b"PacketSendRate = 60")
    [backup] = _backups(tmp_path)
    assert re.fullmatch(r"TAStatsAPI\.ini\.companion-backup-\d{8}T\d{6}", backup.name)
    assert backup.read_bytes() == USER_FILE
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([ini.name, backup.name])
    out = capsys.readouterr().out
    assert "PacketSendRate=0 (feed off), Port=49123" in out
    assert backup.name in out
    assert "Restart Rocket League" in out

    # Again at the same rate: nothing to do, nothing written, no second backup.
    assert gamesetup.run(_args(rate="60", ini=[ini]), _linux(tmp_path)) == 0
    assert len(_backups(tmp_path)) == 1
    assert "already on at 60 updates per second" in capsys.readouterr().out


def test_a_second_backup_in_the_same_second_gets_its_own_name(tmp_path: Path) -> None:
    ini = _put(tmp_path / "TAStatsAPI.ini", USER_FILE)
    state = gamesetup.inspect(IniLocation(ini, "explicit", "test"))
    first = gamesetup.enable(state, 30, dry_run=False, stamp="20261125T120000")
    state = gamesetup.inspect(state.location)
    second = gamesetup.enable(state, 60, dry_run=False, stamp="20261125T120000")
    assert first.backup is not None and second.backup is not None
    assert second.backup.name == first.backup.name + "-2"
    assert first.backup.read_bytes() == USER_FILE
    assert second.backup.read_bytes() == first.backup.read_bytes().replace(b"= 0", b"= 30")


def test_dry_run_writes_nothing_and_prints_the_diff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ini = _put(tmp_path / "DefaultStatsAPI.ini", SHIPPED)
    assert gamesetup.run(_args(ini=[ini], dry=True), _linux(tmp_path)) == 0
    assert ini.read_bytes() == SHIPPED
    assert [path.name for path in tmp_path.iterdir()] == [ini.name]
    out = capsys.readouterr().out
    assert "--- DefaultStatsAPI.ini (now)" in out
    assert "-PacketSendRate=0" in out and "+PacketSendRate=30" in out
    assert "nothing was written" in out.lower()


def test_a_refused_write_names_the_file_and_the_way_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    install = (
        tmp_path / "C" / "Program Files (x86)" / "Steam" / "steamapps" / "common" / "rocketleague"
    )
    default_ini = _put(install.joinpath(*INSTALL_INI), SHIPPED)
    user_ini = _put((tmp_path / "C" / "Users" / "Ann" / "Documents").joinpath(*USER_INI), USER_FILE)
    real_replace = gamesetup._replace_file

    def refuse_program_files(path: Path, data: bytes, mode_from: Path) -> None:
        # What Windows does to a user without administrator rights.
        if "Program Files" in str(path):
            raise PermissionError(13, "Access is denied", str(path))
        real_replace(path, data, mode_from)

    monkeypatch.setattr(gamesetup, "_replace_file", refuse_program_files)
    assert gamesetup.run(_args(), _windows(tmp_path)) == 1
    out = capsys.readouterr().out
    assert str(default_ini) in out
    assert "could not change it: permission denied" in out
    assert "protected folder (Program Files)" in out
    assert "Run as administrator" in out
    assert f"companion setup-game --ini {gamesetup._quote(user_ini)}" in out  # the way round it
    assert "1 file could not be changed" in out
    assert "Restart Rocket League" in out  # the user folder file did change
    assert default_ini.read_bytes() == SHIPPED
    assert _backups(default_ini.parent) == []
    assert user_ini.read_bytes() == USER_FILE.replace(b"= 0", b"= 30")


def test_a_file_in_use_is_not_a_rights_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ini = _put(tmp_path / "TAStatsAPI.ini", USER_FILE)
    state = gamesetup.inspect(IniLocation(ini, "explicit", "test"))

    def in_use(path: Path, data: bytes, mode_from: Path) -> None:
        error = PermissionError(13, "The process cannot access the file")
        error.winerror = 32  # type: ignore[attr-defined]  # a Windows sharing violation
        raise error

    monkeypatch.setattr(gamesetup, "_replace_file", in_use)
    outcome = gamesetup.enable(state, 30, dry_run=False, stamp="x")
    assert outcome.status == "failed" and not outcome.needs_rights
    assert outcome.error is not None and "is Rocket League running?" in outcome.error


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes read-only folders anyway"
)
def test_a_read_only_folder_really_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ini = _put(tmp_path / "locked" / "TAStatsAPI.ini", USER_FILE)
    ini.chmod(0o444)
    ini.parent.chmod(0o555)
    try:
        assert gamesetup.run(_args(ini=[ini]), _linux(tmp_path)) == 1
    finally:
        ini.parent.chmod(0o755)
    out = capsys.readouterr().out
    assert "exists, but read-only for you" in out
    assert "could not change it: permission denied" in out
    assert ini.read_bytes() == USER_FILE


def test_a_file_changed_after_reading_is_left_alone(tmp_path: Path) -> None:
    ini = _put(tmp_path / "TAStatsAPI.ini", USER_FILE)
    state = gamesetup.inspect(IniLocation(ini, "explicit", "test"))
    ini.write_bytes(USER_FILE + b"X=1\r\n")  # the game saved its settings meanwhile
    outcome = gamesetup.enable(state, 30, dry_run=False, stamp="x")
    assert outcome.status == "failed"
    assert ini.read_bytes() == USER_FILE + b"X=1\r\n"
    assert _backups(tmp_path) == []


def test_a_named_file_that_is_not_there_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    present = _put(tmp_path / "TAStatsAPI.ini", USER_FILE)
    absent = tmp_path / "nope.ini"
    assert gamesetup.run(_args(ini=[absent]), _linux(tmp_path)) == 1
    assert str(absent) in capsys.readouterr().err
    assert gamesetup.run(_args(ini=[present, absent]), _linux(tmp_path)) == 1
    assert "not there: no such file" in capsys.readouterr().out
    assert b"PacketSendRate = 30" in present.read_bytes()


def test_discovered_files_are_all_enabled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home" / "ann"
    game = home / ".local" / "share" / "Steam" / "steamapps" / "common" / "rocketleague"
    default_ini = _put(game.joinpath(*INSTALL_INI), SHIPPED)
    prefix_user = home / ".local" / "share" / "Steam" / "steamapps" / "compatdata" / "252950"
    user_folder = prefix_user / "pfx" / "drive_c" / "users" / "steamuser" / "Documents"
    user_folder.joinpath(*USER_INI[:2]).mkdir(parents=True)  # the game ran, no TAStatsAPI.ini
    assert gamesetup.run(_args(rate="120"), _linux(tmp_path)) == 0
    assert b"PacketSendRate=120\r\n" in default_ini.read_bytes()
    out = capsys.readouterr().out
    assert "not there; skipped" in out
    assert "now on at 120 updates per second in 1 file" in out


# --- through the real command line -------------------------------------------------------------


def test_the_command_line_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ini = _put(tmp_path / "game" / "TAStatsAPI.ini", USER_FILE)
    data = ["--data-dir", str(tmp_path / "data")]
    assert cli.main([*data, "setup-game", "--ini", str(ini), "--rate", "29.97", "--dry-run"]) == 0
    assert ini.read_bytes() == USER_FILE
    assert "+PacketSendRate = 29.97" in capsys.readouterr().out

    assert cli.main([*data, "setup-game", "--ini", str(ini), "--rate", "29.97"]) == 0
    assert ini.read_bytes() == USER_FILE.replace(b"= 0\r\n", b"= 29.97\r\n")
    assert "Restart Rocket League" in capsys.readouterr().out

    assert cli.main([*data, "setup-game", "--ini", str(ini), "--rate", "500"]) == 2
    err = capsys.readouterr().err
    assert "--rate must be from 1 to 120" in err and "'500'" in err
    assert ini.read_bytes() == USER_FILE.replace(b"= 0\r\n", b"= 29.97\r\n")


def test_setup_options_do_not_touch_the_settings_flags() -> None:
    args = cli.build_parser().parse_args(
        ["setup-game", "--rate", "60", "--ini", "a.ini", "--ini", "b.ini"]
    )
    assert (args.setup_rate, args.setup_ini, args.setup_dry_run) == (
        "60",
        [Path("a.ini"), Path("b.ini")],
        False,
    )
    assert args.port is None
    assert cli.build_parser().parse_args(["setup-game"]).setup_rate == "30"
