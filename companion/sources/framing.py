"""Incremental framing of the Stats API stream: JSON objects back to back, no delimiter.

The game writes ``{...}{...}{...}`` with nothing between messages, split anywhere across TCP
reads (inside strings, inside multi-byte UTF-8 characters). The framer finds where each top-level
object ends by tracking brace depth outside strings; string bodies are skipped with one regular
expression match each (the real feed carries the whole payload as one escaped string, so a
message costs a handful of steps). Bytes outside any object are skipped as garbage; an object
larger than the limit is dropped and the framer resynchronises after its end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024

_OPEN = 0x7B  # {
_CLOSE = 0x7D  # }
_QUOTE = 0x22  # "
_STRUCTURE = re.compile(rb'[{}"]')
# The game's own shape, {"Event":"<name>","Data":"<escaped JSON>"}, matched in one step; any
# other shape (or a message cut short by the read) takes the general path.
_CANONICAL = re.compile(rb'\{"Event":"[^"\\]*","Data":"[^"\\]*(?:\\.[^"\\]*)*"\}', re.DOTALL)
# From just after an opening quote to its closing quote; an escape pair never ends the string.
_STRING_REST = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


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
                whole = _CANONICAL.match(buffer, brace)
                if whole is not None:
                    pos = whole.end()
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
