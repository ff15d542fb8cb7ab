"""The game's Stats API ini text: read the feed settings, turn the feed on, change nothing else.

This module owns the ini *text*, nothing on disk: bytes in → text with its encoding, text in → the
``[TAGame.MatchStatsExporter_TA]`` values, text in → the same text with one value changed. It is
pure so that ``companion setup-game`` and the settings page share exactly the same editing rules.

The editing promise: every byte of the file stays as it was except the one ``PacketSendRate`` line
(or one added line, or one appended section). Comments, key order, other keys and sections, the
line-ending style of each line, a byte-order mark and the encoding all survive. That is why this is
a small hand-written line editor and not ``configparser``, which would drop comments, lower-case
keys and rewrite every line.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass

SECTION = "TAGame.MatchStatsExporter_TA"
RATE_KEY = "PacketSendRate"
PORT_KEY = "Port"
WEB_PORT_KEY = "WebPort"

# The game caps PacketSendRate at 120 per second (docs/stats-api.md 1.1); below 1 per second the
# live pages would be useless, and 0 turns the feed off, which is not what this tool is for.
MIN_RATE = 1.0
MAX_RATE = 120.0
DEFAULT_RATE = 30.0

_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xef\xbb\xbf", "utf-8"),
    # Unreal Engine 3 writes some of its ini files as UTF-16 with a BOM; latin-1 would garble them.
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_NEWLINE = re.compile(r"\r\n|\n|\r")
_HEADER = re.compile(r"^\s*\[(?P<name>[^\]]*)\]\s*$")
_ENTRY = re.compile(r"^(?P<lead>\s*)(?P<key>[^=;#\[\s][^=]*?)(?P<sep>\s*=\s*)(?P<value>.*?)\s*$")
_RATE_TEXT = re.compile(r"^[0-9]+(?:\.[0-9]+)?$")


@dataclass(frozen=True, slots=True)
class IniText:
    """A decoded ini file and what is needed to write it back byte-for-byte."""

    text: str
    encoding: str
    bom: bytes = b""

    def encode(self, text: str) -> bytes:
        """``text`` in this file's encoding, with its BOM, if it had one."""
        return self.bom + text.encode(self.encoding)


@dataclass(frozen=True, slots=True)
class StatsApiIni:
    """What one ini file says about the feed: the raw values, None where the key is absent."""

    has_section: bool
    packet_send_rate: str | None
    port: str | None
    web_port: str | None

    @property
    def rate(self) -> float | None:
        """``PacketSendRate`` as a number; None when it is absent or not a number."""
        if self.packet_send_rate is None:
            return None
        try:
            value = float(self.packet_send_rate)
        except ValueError:
            return None
        return value if math.isfinite(value) else None

    @property
    def enabled(self) -> bool:
        """The game sends the feed only when the rate is above 0 (0, the shipped value, is off)."""
        return self.rate is not None and self.rate > 0


def decode_ini(data: bytes) -> IniText:
    """Decode an ini file of unknown encoding without losing a byte.

    A BOM decides; otherwise UTF-8 if the bytes are valid UTF-8, else latin-1, which maps every
    byte to one character and so writes back exactly what was read (a cp1252 file stays intact).
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return IniText(data[len(bom) :].decode(encoding), encoding, bom)
            except UnicodeDecodeError:
                break
    try:
        return IniText(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        return IniText(data.decode("latin-1"), "latin-1")


def parse_rate(text: str) -> float:
    """Read a ``--rate`` value: a plain number from 1 to 120, decimals allowed (29.97).

    Raises ValueError with a message meant for the player.
    """
    cleaned = text.strip()
    # A strict pattern, because float() would also take "1_0", "inf", "nan" and "1e2".
    if not _RATE_TEXT.match(cleaned):
        raise ValueError(
            f"--rate must be a number of updates per second from {format_rate(MIN_RATE)} to "
            f"{format_rate(MAX_RATE)}, such as 30 or 29.97; got {text!r}"
        )
    value = float(cleaned)
    if not MIN_RATE <= value <= MAX_RATE:
        raise ValueError(
            f"--rate must be from {format_rate(MIN_RATE)} to {format_rate(MAX_RATE)} updates per "
            f"second (the game caps the feed at {format_rate(MAX_RATE)}); got {text!r}"
        )
    return value


def format_rate(rate: float) -> str:
    """``30`` for 30.0, ``29.97`` for 29.97: the shortest text that reads back as that number."""
    rate = float(rate)  # an int is a valid float to the type checker but has no is_integer on 3.11
    return str(int(rate)) if rate.is_integer() else repr(rate)


def read_stats_api(text: str) -> StatsApiIni:
    """The feed's values from the ``[TAGame.MatchStatsExporter_TA]`` section (first one wins)."""
    lines = _split(text)
    values: dict[str, str] = {}
    has_section = False
    for _, index in _walk_section(lines):
        has_section = True
        match = _ENTRY.match(lines[index][0]) if index is not None else None
        if match:
            values.setdefault(match["key"].strip().casefold(), match["value"])
    return StatsApiIni(
        has_section=has_section,
        packet_send_rate=values.get(RATE_KEY.casefold()),
        port=values.get(PORT_KEY.casefold()),
        web_port=values.get(WEB_PORT_KEY.casefold()),
    )


def enable_feed(text: str, rate: float) -> str:
    """``text`` with ``PacketSendRate`` set to ``rate``; the very same text if it already is.

    The value is replaced in place on each ``PacketSendRate`` line of the section (keeping the
    key's spelling and the spacing around ``=``); a missing key is added inside the section, after
    its last key; a missing section is appended at the end of the file.
    """
    lines = _split(text)
    value = format_rate(rate)
    headers: list[int] = []
    keys: list[int] = []
    last_entry: dict[int, int] = {}
    for header, index in _walk_section(lines):
        if header not in headers:
            headers.append(header)
        if index is not None:
            last_entry[header] = index
            match = _ENTRY.match(lines[index][0])
            if match and match["key"].strip().casefold() == RATE_KEY.casefold():
                keys.append(index)
    newline = _dominant_newline(lines)
    if keys:
        for index in keys:
            content, ending = lines[index]
            match = _ENTRY.match(content)
            assert match is not None  # found by the same pattern above
            if _same_rate(match["value"], rate):
                continue
            start, end = match.span("value")
            lines[index] = (content[:start] + value + content[end:], ending)
    elif headers:
        # After the section's last key (or its header and comments when it has no keys yet), so
        # the new line sits with the others and not before a comment that belongs to the next one.
        anchor = last_entry.get(headers[0], _last_line_of_section(lines, headers[0]))
        content, ending = lines[anchor]
        lines[anchor] = (content, ending or newline)
        lines.insert(anchor + 1, (f"{RATE_KEY}={value}", ending))
    else:
        if lines and not lines[-1][1]:
            lines[-1] = (lines[-1][0], newline)
        if lines and lines[-1][0].strip():
            lines.append(("", newline))
        lines.extend([(f"[{SECTION}]", newline), (f"{RATE_KEY}={value}", newline)])
    return "".join(content + ending for content, ending in lines)


def diff_lines(before: str, after: str, name: str) -> list[str]:
    """A unified diff (one line of context) of what ``enable_feed`` changed, for people to read."""
    return list(
        difflib.unified_diff(
            [content for content, _ in _split(before)],
            [content for content, _ in _split(after)],
            fromfile=f"{name} (now)",
            tofile=f"{name} (after)",
            lineterm="",
            n=1,
        )
    )


def _split(text: str) -> list[tuple[str, str]]:
    """Lines as (content, ending) pairs; ``"".join`` of them gives back ``text`` exactly.

    Not ``str.splitlines``: it also breaks on form feeds, U+2028 and friends, which the game does
    not, and a rewrite would then move bytes around.
    """
    lines: list[tuple[str, str]] = []
    start = 0
    for match in _NEWLINE.finditer(text):
        lines.append((text[start : match.start()], match.group()))
        start = match.end()
    if start < len(text):
        lines.append((text[start:], ""))
    return lines


def _walk_section(lines: list[tuple[str, str]]) -> list[tuple[int, int | None]]:
    """(header index, entry index or None for the header itself) for every line of our section.

    Section names compare case-insensitively, as the game's ini reader does; a section that appears
    twice is read as one.
    """
    result: list[tuple[int, int | None]] = []
    current: int | None = None
    for index, (content, _) in enumerate(lines):
        header = _HEADER.match(content)
        if header:
            current = index if header["name"].strip().casefold() == SECTION.casefold() else None
            if current is not None:
                result.append((current, None))
        elif current is not None and _is_entry(content):
            result.append((current, index))
    return result


def _is_entry(content: str) -> bool:
    stripped = content.lstrip()
    # ';' is the game's comment mark; '#' is accepted as one too by common ini readers.
    return bool(stripped) and stripped[0] not in ";#" and _ENTRY.match(content) is not None


def _last_line_of_section(lines: list[tuple[str, str]], header: int) -> int:
    last = header
    for index in range(header + 1, len(lines)):
        content = lines[index][0]
        if _HEADER.match(content):
            break
        if content.strip():
            last = index
    return last


def _dominant_newline(lines: list[tuple[str, str]]) -> str:
    counts: dict[str, int] = {}
    for _, ending in lines:
        if ending:
            counts[ending] = counts.get(ending, 0) + 1
    # The game is a Windows program and writes CRLF, also under Proton; so CRLF when unsure.
    return max(counts, key=lambda ending: counts[ending]) if counts else "\r\n"


def _same_rate(value: str, rate: float) -> bool:
    try:
        return float(value.strip()) == rate
    except ValueError:
        return False
