"""Where Rocket League keeps its Stats API ini files on this machine (Steam, Epic, Heroic, Proton).

This module owns discovery and nothing else: it reads launcher metadata (Steam's
``libraryfolders.vdf``, Epic's ``*.item`` manifests, Heroic/legendary's ``installed.json`` and game
configs) and lists the game folders and user folders it finds. It never writes.

Discovery is a pure function of an ``Environment`` (platform, home, environment variables, a few
values only Windows APIs know, and an optional filesystem root) so tests can build fake Windows and
Linux trees in a temporary folder and never look at the real user's folders.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from typing import Any, Literal

STEAM_APP_ID = "252950"  # Rocket League on Steam; also names its Proton prefix
EPIC_APP_NAME = "Sugar"  # Rocket League's Epic/legendary app name
GAME_FOLDER = "rocketleague"  # the install folder's name with Steam, Epic and Heroic alike
INSTALL_INI = ("TAGame", "Config", "DefaultStatsAPI.ini")
USER_GAME_FOLDER = ("My Games", "Rocket League")
USER_INI = ("TAGame", "Config", "TAStatsAPI.ini")
# Wine and Proton name the folder "Documents" today and "My Documents" in older prefixes.
_WINE_DOCUMENTS = ("Documents", "My Documents")

Kind = Literal["install", "user", "explicit"]


@dataclass(frozen=True, slots=True)
class Environment:
    """Everything discovery may look at besides the files themselves.

    ``platform`` is ``sys.platform`` style (``win32``, ``linux``). Paths in ``home``,
    ``variables`` and launcher files are in that platform's syntax; with ``root`` set (tests)
    every absolute path is looked up under that folder: ``C:\\Users\\Ann`` as ``root/C/Users/Ann``.
    """

    platform: str
    home: str
    variables: Mapping[str, str] = field(default_factory=dict)
    root: Path | None = None
    # Windows only, from Windows APIs when running for real: the Documents folder (often moved to
    # OneDrive, so %USERPROFILE%\Documents is only a guess) and Steam's folder from the registry.
    documents: str | None = None
    steam_path: str | None = None

    @classmethod
    def current(cls) -> Environment:
        documents = steam_path = None
        if sys.platform == "win32":
            documents, steam_path = _windows_documents(), _windows_steam_path()
        return cls(
            platform=sys.platform,
            home=str(Path.home()),
            variables=dict(os.environ),
            documents=documents,
            steam_path=steam_path,
        )

    @property
    def windows(self) -> bool:
        return self.platform == "win32"

    def var(self, name: str) -> str | None:
        """An environment variable; case-insensitive on Windows, as Windows itself is."""
        value = self.variables.get(name)
        if value is None and self.windows:
            folded = name.casefold()
            value = next((v for k, v in self.variables.items() if k.casefold() == folded), None)
        return value or None

    def path(self, text: str) -> Path:
        """A path as written in this environment, as a path to open on this machine."""
        if self.root is None:
            return Path(text)
        pure: PurePath = PureWindowsPath(text) if self.windows else PurePosixPath(text)
        # Drive letters in upper case: the registry says "c:/program files (x86)/steam".
        drive = re.sub(r"[\\/:]+", "_", pure.drive).strip("_").upper()
        parts = pure.parts[1:] if pure.anchor else pure.parts
        return self.root.joinpath(*([drive] if drive else []), *parts)


@dataclass(frozen=True, slots=True)
class IniLocation:
    """One ini file worth looking at; the file itself may not exist yet."""

    ini: Path
    kind: Kind
    where: str  # for people: "Steam game folder", "Documents (Proton prefix)", ...


@dataclass(frozen=True, slots=True)
class Discovery:
    """The ini files of every game or user folder found, and every folder that was looked in."""

    locations: list[IniLocation]
    searched: list[Path]


def discover(env: Environment) -> Discovery:
    """Find the game's folders and the Stats API ini files in them (Windows and Linux)."""
    found = _Found()
    if env.windows:
        _windows(env, found)
    elif env.platform.startswith("linux"):
        _linux(env, found)
    # Rocket League has no current macOS build; there, --ini is the way.
    return Discovery(locations=found.locations, searched=found.searched)


class _Found:
    """Collects locations without duplicates (the same folder reached through two symlinks)."""

    def __init__(self) -> None:
        self.locations: list[IniLocation] = []
        self.searched: list[Path] = []
        self._seen: set[str] = set()

    def looked(self, folder: Path) -> None:
        """A folder that is not there at all: name it once instead of every path inside it."""
        if folder not in self.searched:
            self.searched.append(folder)

    def game(self, folder: Path, where: str) -> None:
        self._add(folder, folder.joinpath(*INSTALL_INI), "install", where)

    def user(self, folder: Path, where: str) -> None:
        self._add(folder, folder.joinpath(*USER_INI), "user", where)

    def _add(self, folder: Path, ini: Path, kind: Kind, where: str) -> None:
        key = os.path.normcase(os.path.realpath(folder))
        if key in self._seen:
            return
        self._seen.add(key)
        self.searched.append(folder)
        if folder.is_dir():
            self.locations.append(IniLocation(ini, kind, where))


def _windows(env: Environment, found: _Found) -> None:
    program_files = env.var("ProgramFiles") or "C:\\Program Files"
    program_files_x86 = env.var("ProgramFiles(x86)") or "C:\\Program Files (x86)"
    program_data = env.var("ProgramData") or "C:\\ProgramData"
    profile = env.var("USERPROFILE") or env.home

    steam_roots = [env.path(text) for text in (env.steam_path,) if text]
    steam_roots += [env.path(program_files_x86) / "Steam", env.path(program_files) / "Steam"]
    for library in _steam_libraries(env, steam_roots, found):
        found.game(library / "steamapps" / "common" / GAME_FOLDER, "Steam game folder")

    found.game(env.path(program_files) / "Epic Games" / GAME_FOLDER, "Epic Games game folder")
    manifests = env.path(program_data) / "Epic" / "EpicGamesLauncher" / "Data" / "Manifests"
    for folder in _epic_installs(env, manifests):
        found.game(folder, "Epic Games game folder")

    appdata = env.path(env.var("APPDATA") or f"{profile}\\AppData\\Roaming")
    heroic_configs = [
        appdata / "heroic" / "legendaryConfig" / "legendary",
        env.path(profile) / ".config" / "legendary",
    ]
    for folder in _legendary_installs(env, heroic_configs):
        found.game(folder, "Heroic game folder")
    found.game(env.path(profile) / "Games" / "Heroic" / GAME_FOLDER, "Heroic game folder")

    documents = [text for text in (env.documents,) if text]
    documents.append(f"{profile}\\Documents")
    onedrive = env.var("OneDrive")
    if onedrive:
        documents.append(f"{onedrive}\\Documents")
    for text in documents:
        found.user(env.path(text).joinpath(*USER_GAME_FOLDER), "Documents")


def _linux(env: Environment, found: _Found) -> None:
    home = env.path(env.home)
    data_home = env.path(env.var("XDG_DATA_HOME") or f"{env.home}/.local/share")
    config_home = env.path(env.var("XDG_CONFIG_HOME") or f"{env.home}/.config")

    # The real folders before ~/.steam's symlinks to them, so the paths shown are the real ones.
    steam_roots = [
        data_home / "Steam",
        home / ".local" / "share" / "Steam",
        home / ".steam" / "steam",
        home / ".steam" / "root",
        home / ".var" / "app" / "com.valvesoftware.Steam" / ".local" / "share" / "Steam",
        home / "snap" / "steam" / "common" / ".local" / "share" / "Steam",
    ]
    for library in _steam_libraries(env, steam_roots, found):
        found.game(library / "steamapps" / "common" / GAME_FOLDER, "Steam game folder")
        prefix = library / "steamapps" / "compatdata" / STEAM_APP_ID / "pfx"
        for documents in _wine_documents(prefix, users=("steamuser",)):
            found.user(documents.joinpath(*USER_GAME_FOLDER), "Documents (Steam Proton prefix)")

    heroic_homes = [
        config_home / "heroic",
        home / ".var" / "app" / "com.heroicgameslauncher.hgl" / "config" / "heroic",
    ]
    legendary = [folder / "legendaryConfig" / "legendary" for folder in heroic_homes]
    legendary.append(config_home / "legendary")
    for folder in _legendary_installs(env, legendary):
        found.game(folder, "Heroic game folder")
    found.game(home / "Games" / "Heroic" / GAME_FOLDER, "Heroic game folder")

    prefixes = [prefix for folder in heroic_homes for prefix in _heroic_prefixes(env, folder)]
    heroic_prefixes = home / "Games" / "Heroic" / "Prefixes"
    # Heroic's default prefix is Prefixes/default/<game title> now, Prefixes/<game title> before.
    for pattern in ("*/drive_c", "*/*/drive_c"):
        prefixes += [drive_c.parent for drive_c in _sorted_glob(heroic_prefixes, pattern)]
    for prefix in prefixes:
        for documents in _wine_documents(prefix, users=None):
            found.user(documents.joinpath(*USER_GAME_FOLDER), "Documents (Heroic prefix)")


def _steam_libraries(env: Environment, roots: Iterable[Path], found: _Found) -> Iterator[Path]:
    """Each Steam folder that exists, then every library listed in its ``libraryfolders.vdf``."""
    for root in roots:
        if not root.is_dir():
            found.looked(root)
            continue
        yield root
        for vdf in (
            root / "steamapps" / "libraryfolders.vdf",
            root / "config" / "libraryfolders.vdf",
        ):
            for text in _vdf_library_paths(_read_text(vdf)):
                yield env.path(text)


_VDF_PAIR = re.compile(r'"((?:[^"\\]|\\.)*)"\s+"((?:[^"\\]|\\.)*)"')


def _vdf_library_paths(text: str) -> list[str]:
    """Library folders from ``libraryfolders.vdf``: ``"path" "D:\\\\SteamLibrary"`` entries, and
    the old format's ``"1" "D:\\\\SteamLibrary"`` (told from app sizes by the slash in it)."""
    paths: list[str] = []
    for key, raw in _VDF_PAIR.findall(text):
        value = re.sub(r"\\(.)", r"\1", raw)
        if key == "path" or (key.isdigit() and ("/" in value or "\\" in value)):
            paths.append(value)
    return paths


def _epic_installs(env: Environment, manifests: Path) -> Iterator[Path]:
    for item in _sorted_glob(manifests, "*.item"):
        data = _read_json(item)
        names = {str(data.get(key, "")) for key in ("AppName", "MainGameAppName")}
        title = str(data.get("DisplayName", ""))
        location = data.get("InstallLocation")
        if isinstance(location, str) and (EPIC_APP_NAME in names or _is_rocket_league(title)):
            yield env.path(location)


def _legendary_installs(env: Environment, folders: Iterable[Path]) -> Iterator[Path]:
    """Install folders from legendary's ``installed.json`` (Heroic keeps its own copy)."""
    for folder in folders:
        for app_name, entry in _read_json(folder / "installed.json").items():
            if not isinstance(entry, dict):
                continue
            title = str(entry.get("title", ""))
            path = entry.get("install_path")
            if isinstance(path, str) and (app_name == EPIC_APP_NAME or _is_rocket_league(title)):
                yield env.path(path)


def _heroic_prefixes(env: Environment, heroic: Path) -> Iterator[Path]:
    """The wine prefix Heroic set for the game (``GamesConfig/Sugar.json``: ``winePrefix``)."""
    entry = _read_json(heroic / "GamesConfig" / f"{EPIC_APP_NAME}.json").get(EPIC_APP_NAME)
    if isinstance(entry, dict) and isinstance(entry.get("winePrefix"), str):
        prefix = env.path(entry["winePrefix"])
        # Heroic's Proton prefixes keep drive_c one level down, in pfx/.
        yield from (prefix, prefix / "pfx")


def _wine_documents(prefix: Path, users: tuple[str, ...] | None) -> Iterator[Path]:
    """The Documents folders inside a wine prefix (every user's when ``users`` is None)."""
    users_folder = prefix / "drive_c" / "users"
    if users is None:
        homes = [path for path in _sorted_glob(users_folder, "*") if path.name != "Public"]
    else:
        homes = [users_folder / name for name in users]
    for user_home in homes:
        yield user_home / _WINE_DOCUMENTS[0]
        # The old name only when it is there, so "where we looked" lists one guess per user.
        if (user_home / _WINE_DOCUMENTS[1]).is_dir():
            yield user_home / _WINE_DOCUMENTS[1]


def _is_rocket_league(title: str) -> bool:
    return title.casefold().startswith("rocket league")  # also "Rocket League®"


def _sorted_glob(folder: Path, pattern: str) -> list[Path]:
    try:
        return sorted(folder.glob(pattern))
    except OSError:
        return []


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _read_json(path: Path) -> dict[str, Any]:
    """A launcher's JSON file as a dict; empty when it is missing, unreadable or not JSON."""
    try:
        data = json.loads(_read_text(path) or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _windows_documents() -> str | None:
    """The real Documents folder (SHGetFolderPathW, CSIDL_PERSONAL), wherever the user moved it."""
    if sys.platform != "win32":
        return None
    import ctypes

    buffer = ctypes.create_unicode_buffer(260)
    try:
        failed = ctypes.windll.shell32.SHGetFolderPathW(None, 5, None, 0, buffer)
    except (AttributeError, OSError):
        return None
    return None if failed else buffer.value or None


def _windows_steam_path() -> str | None:
    """Steam's folder from the registry, for Steam installed outside Program Files."""
    if sys.platform != "win32":
        return None
    import winreg

    try:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, r"Software\Valve\Steam") as key:
            value, _ = winreg.QueryValueEx(key, "SteamPath")
    except OSError:
        return None
    return value if isinstance(value, str) and value else None
