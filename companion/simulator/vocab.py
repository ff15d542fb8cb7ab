"""The fixed vocabulary the match synthesiser draws from: made-up players, arenas, team colours,
localised statfeed labels and the game's scoring rules.

Everything here is invented or generic game data. Real player names and platform ids (such as the
ones in the recorded captures) must never appear in synthesised data, so the gamer tags below are
made up; a few carry non-ASCII characters (two- to four-byte UTF-8) so that a reader's handling of
multi-byte names split across TCP reads gets exercised.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

GAMER_TAGS: tuple[str, ...] = (
    "Zoë",
    "Kévin",
    "Søren_RL",
    "Łukasz",
    "Jülia",
    "Ñandú",
    "Δelta Dash",
    "星の子",
    "🚀 Rocketeer",
    "NightOwl",
    "Turbo Tortoise",
    "Pixel Pirate",
    "ChaiLatte",
    "SaltyDingo",
    "Mochi",
    "Frostbyte",
    "BoostGoblin",
    "CeilingShot Sam",
    "WavedashWendy",
    "Pancake Pilot",
    "Dribblz",
    "Gizmo42",
    "QuietStorm",
    "Sprocket",
    "Tofu Tornado",
    "Whisk",
    "Yeti Spaghetti",
    "Zephyr_7",
    "Bramble",
    "Cobalt Crab",
    "Ducky",
    "Ember Elk",
    "Fennel",
    "Gravel Gus",
    "Hazelnut",
    "Juniper",
    "Kestrel",
    "Lumen",
    "Marmot Mike",
    "Noodle Arm",
)

# The game's own bot names are Psyonix characters, not people; these are in the same spirit.
BOT_NAMES: tuple[str, ...] = (
    "Armstrong",
    "Bandit",
    "Beast",
    "Boomer",
    "Casper",
    "Centice",
    "Chipper",
    "Foamer",
    "Gerwin",
    "Hound",
)
BOT_ID = "Unknown|0|0"  # every bot gets this PrimaryId (it is not unique)

ARENAS: tuple[str, ...] = (
    "Stadium_P",
    "cs_p",
    "EuroStadium_Night_P",
    "Park_P",
    "TrainStation_P",
    "UtopiaStadium_P",
    "beach_P",
    "NeoTokyo_Standard_P",
    "Wasteland_S_P",
    "woods_P",
    "STADIUM_10A_P",
    "arc_standard_p",
)


@dataclass(frozen=True, slots=True)
class TeamStyle:
    """A team's name and colours as the game sends them (hex without ``#``)."""

    name: str
    primary: str
    secondary: str


DEFAULT_TEAMS = (TeamStyle("Blue", "1873FF", "E5E5E5"), TeamStyle("Orange", "C26418", "E5E5E5"))
# Club matches show the club's name and colours instead of Blue/Orange.
CLUB_TEAMS: tuple[TeamStyle, ...] = (
    TeamStyle("Night Owls", "2B2D6E", "F2C14E"),
    TeamStyle("Pancake Club", "E0A458", "5B3A29"),
    TeamStyle("Mossy Rocks", "3C6E47", "D9D9D9"),
    TeamStyle("Velvet Comets", "7A2E8E", "FFFFFF"),
)

# StatfeedEvent.Type is localised by the game; EventName is the stable key.
STATFEED_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "Shot": "Shot on Goal",
        "Goal": "Goal",
        "Assist": "Assist",
        "Save": "Save",
        "EpicSave": "Epic Save",
        "Demolish": "Demolition",
        "MVP": "MVP",
        "Win": "Win",
    },
    "de": {
        "Shot": "Torschuss",
        "Goal": "Tor",
        "Assist": "Vorlage",
        "Save": "Parade",
        "EpicSave": "Glanzparade",
        "Demolish": "Zerstörung",
        "MVP": "MVP",
        "Win": "Sieg",
    },
    "fr": {
        "Shot": "Tir cadré",
        "Goal": "But",
        "Assist": "Passe décisive",
        "Save": "Arrêt",
        "EpicSave": "Arrêt décisif",
        "Demolish": "Démolition",
        "MVP": "MVP",
        "Win": "Victoire",
    },
}

# Points the game awards (a plain ball touch earns about one point, as in the captures).
POINTS = {
    "Touch": 1,
    "Shot": 20,
    "Goal": 100,
    "Assist": 50,
    "Save": 50,
    "EpicSave": 75,
    "Demolish": 10,
}

# The cumulative scoreboard fields of UpdateState.Players[], in the game's order.
STAT_FIELDS: tuple[str, ...] = (
    "Score",
    "Goals",
    "Shots",
    "Assists",
    "Saves",
    "Touches",
    "CarTouches",
    "Demos",
)
STAT_INDEX = {name: i for i, name in enumerate(STAT_FIELDS)}


@dataclass(frozen=True, slots=True)
class Player:
    """One seat in a match: identity plus the ``Shortcut`` and ``TeamNum`` the game gives it."""

    name: str
    primary_id: str
    shortcut: int
    team: int
    bot: bool = False

    def ref(self) -> dict[str, Any]:
        """The PlayerRef events carry: ``{Name, Shortcut, TeamNum}`` (no PrimaryId)."""
        return {"Name": self.name, "Shortcut": self.shortcut, "TeamNum": self.team}


def platform_id(rng: random.Random) -> str:
    """A made-up ``Platform|Uid|Splitscreen`` id: mostly Steam and Epic, some consoles."""
    platform = rng.choices(("Steam", "Epic", "PS4", "Switch"), weights=(45, 40, 10, 5))[0]
    if platform == "Steam":
        # Inside a range no real Steam account uses in public data: 7656119800000xxxx-like.
        return f"Steam|7656119800{rng.randrange(10**7):07d}|0"
    if platform == "Epic":
        return f"Epic|{rng.getrandbits(128):032x}|0"
    if platform == "PS4":
        return f"PS4|{rng.randrange(10**18, 10**19)}|0"
    return f"Switch|{rng.getrandbits(64):016x}|0"


def match_guid(rng: random.Random) -> str:
    """32 upper-case hex characters, like the game's ``MatchGuid``."""
    return f"{rng.getrandbits(128):032X}"
