"""Incremental framing of the Stats API stream: JSON objects back to back, no delimiter.

The game writes ``{...}{...}{...}`` with nothing between messages, split anywhere across TCP
reads (inside strings, inside multi-byte UTF-8 characters). The framer finds where each top-level
object ends by tracking brace depth outside strings; string bodies are skipped with one regular
expression match each. The game's own shape (the whole payload as one escaped string) is found
faster still, with a few C-level searches and counts over its bytes (``_canonical_end``). Bytes
outside any object are skipped as garbage; an object larger than the limit is dropped and the
framer resynchronises after its end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024

_OPEN = 0x7B  # {
_CLOSE = 0x7D  # }
_QUOTE = 0x22  # "
_STRUCTURE = re.compile(rb'[{}"]')
# The game's own shape, {"Event":"<name>","Data":"<escaped JSON>"}: its head matched with a
# regular expression, its end found by ``_canonical_end``; any other shape (or a message cut short
# by the read) takes the general path. The quantifiers are possessive (``*+``): a string body
# never needs to give back what it matched, and the engine then keeps no backtracking state for
# every escape pair (the Data string has a hundred or more).
_CANONICAL_HEAD = re.compile(rb'\{"Event":"[^"\\]*+","Data":"')
_CANONICAL = re.compile(rb'\{"Event":"[^"\\]*+","Data":"[^"\\]*+(?:\\.[^"\\]*+)*+"\}', re.DOTALL)
# From just after an opening quote to its closing quote; an escape pair never ends the string.
_STRING_REST = re.compile(rb'[^"\\]*+(?:\\.[^"\\]*+)*+"', re.DOTALL)
_BACKSLASH = 0x5C


def _canonical_end(buffer: bytearray, brace: int) -> int:
    """Where the canonical message that starts at ``brace`` ends (exclusive), or -1 when what
    starts there is not one (or not all of it has arrived yet).

    The quick way first, with C loops over bytes instead of one regular-expression step per
    escape pair: the Data string ends at ``"}`` followed by the next message (or the end of the
    buffer), and it is a string when it holds no ``\\\\`` and every quote in it is an escaped
    ``\\"``; then each backslash escapes the byte after it, so those quotes are all escaped and
    the ``"}`` is where ``_CANONICAL`` would end too. Anything else asks ``_CANONICAL`` itself.
    """
    head = _CANONICAL_HEAD.match(buffer, brace)
    if head is None:
        return -1
    body = head.end()
    close = buffer.find(b'"}{', body)
    if close == -1 and buffer.endswith(b'"}') and len(buffer) - 2 >= body:
        close = len(buffer) - 2
    if (
        close != -1
        and buffer[close - 1] != _BACKSLASH
        and buffer.count(b'"', body, close) == buffer.count(b'\\"', body, close)
        and buffer.find(b"\\\\", body, close) == -1
    ):
        return close + 2
    whole = _CANONICAL.match(buffer, brace)
    return -1 if whole is None else whole.end()


@dataclass(slots=True)
class FramingStats:
    messages: int = 0
    garbage_bytes: int = 0
    oversize_dropped: int = 0


class JsonFramer:
    """Feed it bytes as they arrive; it returns each complete top-level JSON object as bytes.

    The objects are not parsed here, only delimited; a delimited object can still be invalid
    JSON (the caller's parser says so).
    """

    def __init__(self, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        self.max_message_bytes = max_message_bytes
        self.stats = FramingStats()
        self._buffer = bytearray()
        self._scan = 0  # where scanning resumes in the buffer
        self._depth = 0  # brace depth at _scan (0: between objects)
        self._skipping = False  # inside an oversize object being dropped

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def reset(self) -> None:
        """Forget any partial object (a new connection starts clean)."""
        self._buffer.clear()
        self._scan = 0
        self._depth = 0
        self._skipping = False

    def feed(self, data: bytes | memoryview) -> list[bytes]:
        buffer = self._buffer
        buffer += data
        messages: list[bytes] = []
        pos = self._scan
        depth = self._depth
        start = 0  # the current object starts at buffer[0] whenever depth > 0
        end = len(buffer)
        while pos < end:
            if depth == 0:
                brace = buffer.find(b"{", pos)
                if brace == -1:
                    self.stats.garbage_bytes += end - pos
                    pos = end
                    break
                self.stats.garbage_bytes += brace - pos
                whole = _canonical_end(buffer, brace)
                if whole != -1:
                    pos = whole
                    if pos - brace > self.max_message_bytes:
                        self.stats.oversize_dropped += 1
                    else:
                        messages.append(bytes(buffer[brace:pos]))
                        self.stats.messages += 1
                    start = pos
                    continue
                start = brace
                depth = 1
                pos = brace + 1
                continue
            found = _STRUCTURE.search(buffer, pos)
            if found is None:
                pos = end
                break
            byte = buffer[found.start()]
            if byte == _QUOTE:
                rest = _STRING_REST.match(buffer, found.start() + 1)
                if rest is None:  # the string goes on in the next read
                    pos = found.start()
                    break
                pos = rest.end()
            elif byte == _OPEN:
                depth += 1
                pos = found.start() + 1
            else:
                depth -= 1
                pos = found.start() + 1
                if depth == 0:
                    if self._skipping:
                        self._skipping = False
                    elif pos - start > self.max_message_bytes:
                        self.stats.oversize_dropped += 1
                    else:
                        messages.append(bytes(buffer[start:pos]))
                        self.stats.messages += 1
                    start = pos
        # Keep only the unfinished object (or nothing), rebased to the buffer's start.
        if depth == 0:
            del buffer[:]
            pos = 0
        else:
            if start:
                del buffer[:start]
                pos -= start
            if len(buffer) > self.max_message_bytes:
                self.stats.oversize_dropped += int(not self._skipping)
                self._skipping = True
                # Drop what is buffered but keep scanning the object's structure to its end;
                # an unfinished string's opening quote is kept so it is not misread.
                keep_from = pos
                del buffer[:keep_from]
                pos = 0
        self._scan = pos
        self._depth = depth
        return messages

    def oversize_in_progress(self) -> bool:
        return self._skipping
