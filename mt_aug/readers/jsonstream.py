"""Stream the elements of a top-level JSON array without loading the file whole.

DPR's retriever-training files are one JSON list (NQ train is about 8 GB), so `json.load`
would hold every record at once. `ijson` is the library for this but is not a dependency;
the standard library's `JSONDecoder.raw_decode` parses one element at a time from a
sliding text buffer, which keeps memory at one chunk plus one record.
"""

from __future__ import annotations

import codecs
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mt_aug.readers import SourceError
from mt_aug.readers.common import json_error

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20
# A record larger than this that still does not parse is reported as broken, instead of
# reading the rest of the file into the buffer looking for its end.
MAX_RECORD_CHARS = 64 << 20

_WS = re.compile(r"[ \t\n\r]*")
_SURROGATE = re.compile("[\udc80-\udcff]")  # undecodable bytes under errors="surrogateescape"


@dataclass(frozen=True, slots=True)
class JsonElement:
    index: int  # position in the array
    line: int  # 1-based line of the file where the element starts
    value: Any
    bad_utf8: bool  # the element's text held bytes that are not UTF-8 (only when not strict)


class _Text:
    """Decoded text of a file as a buffer that grows by chunks and drops consumed text,
    keeping count of the lines dropped so positions can be reported as file lines."""

    def __init__(self, path: Path, *, strict_utf8: bool) -> None:
        self.path = path
        self.f = open(path, "rb")  # noqa: SIM115 - closed by close()
        errors = "strict" if strict_utf8 else "surrogateescape"
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")(errors=errors)
        self.buf = ""
        self.eof = False
        self.bytes_read = 0
        # A cursor for line numbers: buf[:cur_pos] holds cur_line - 1 newlines (counting
        # text already dropped), so numbering each element costs only the text since the last.
        self.cur_pos = 0
        self.cur_line = 1
        self.dirty = False  # the buffer holds undecodable bytes (non-strict mode)

    def more(self) -> bool:
        """Append the next chunk; False at end of file."""
        if self.eof:
            return False
        raw = self.f.read(CHUNK_BYTES)
        final = not raw
        pending = len(self.decoder.getstate()[0])  # bytes of a character split by the last chunk
        try:
            text = self.decoder.decode(raw, final=final)
        except UnicodeDecodeError as exc:
            offset = self.bytes_read - pending + exc.start
            line = self.line_at(len(self.buf)) + raw[: max(exc.start - pending, 0)].count(b"\n")
            raise SourceError(f"{self.path}: not UTF-8: byte offset {offset} (line {line}): {exc.reason}") from None
        self.bytes_read += len(raw)
        if not self.dirty and _SURROGATE.search(text):
            self.dirty = True
        self.buf += text
        self.eof = final
        return not final or bool(text)

    def compact(self, pos: int) -> int:
        """Drop buf[:pos]; returns the new position (0)."""
        if pos:
            self.line_at(pos)
            self.cur_pos -= pos
            self.buf = self.buf[pos:]
            if self.dirty and not _SURROGATE.search(self.buf):
                self.dirty = False
        return 0

    def line_at(self, pos: int) -> int:
        if pos >= self.cur_pos:
            self.cur_line += self.buf.count("\n", self.cur_pos, pos)
            self.cur_pos = pos
            return self.cur_line
        return self.cur_line - self.buf.count("\n", pos, self.cur_pos)

    def line_col(self, pos: int) -> tuple[int, int]:
        """For messages only: the column costs a scan back to the line start."""
        return self.line_at(pos), pos - (self.buf.rfind("\n", 0, pos) + 1) + 1

    def skip_ws(self, pos: int) -> int:
        """Position of the next non-whitespace character, reading more as needed (len(buf) at EOF)."""
        while True:
            pos = _WS.match(self.buf, pos).end()  # type: ignore[union-attr]
            if pos < len(self.buf) or not self.more():
                return pos

    def close(self) -> None:
        self.f.close()


def iter_json_array(path: Path, *, what: str = "a JSON list of records", strict_utf8: bool = True,
                    keep_going_at_truncation: bool = False) -> Iterator[JsonElement]:
    """Yield every element of the JSON array that is `path`'s whole content.

    Raises SourceError naming the file, line and column for a wrong top level, invalid JSON
    or a non-UTF-8 byte (with `strict_utf8`; otherwise such elements are flagged). A file
    that ends inside an element raises, or with `keep_going_at_truncation` yields that last
    element as `JsonElement(value=SourceError(...))` and stops."""
    text = _Text(path, strict_utf8=strict_utf8)
    decoder = json.JSONDecoder()
    try:
        pos = text.skip_ws(0)
        if pos >= len(text.buf) or text.buf[pos] != "[":
            got = "an empty file" if pos >= len(text.buf) else repr(text.buf[pos])
            line, col = text.line_col(pos)
            raise SourceError(f"{path}: line {line}, column {col}: expected {what} (a '[' at the top level), got {got}")
        pos = text.skip_ws(pos + 1)
        index = 0
        if pos < len(text.buf) and text.buf[pos] == "]":
            pos += 1
        else:
            while True:
                if pos > CHUNK_BYTES:
                    pos = text.compact(pos)
                line = text.line_at(pos)
                while True:
                    try:
                        value, end = decoder.raw_decode(text.buf, pos)
                        # An element that ends exactly at the buffer's end (a number) may go on.
                        if end < len(text.buf) or not text.more():
                            break
                    except json.JSONDecodeError as exc:
                        # Maybe the element continues in the next chunk.
                        if len(text.buf) - pos < MAX_RECORD_CHARS and text.more():
                            continue
                        eline, ecol = text.line_col(exc.pos)
                        unfinished = exc.pos >= len(text.buf.rstrip()) or exc.msg.startswith("Unterminated string")
                        if unfinished and not text.eof:
                            # valid so far, but longer than any record should be: say so, not "invalid JSON"
                            raise SourceError(
                                f"{path}: record {index} (line {line}): over the record size limit: more than "
                                f"{MAX_RECORD_CHARS // (1 << 20) or MAX_RECORD_CHARS} "
                                f"{'MiB' if MAX_RECORD_CHARS >= 1 << 20 else 'characters'} without its end "
                                f"(limit: mt_aug.readers.jsonstream.MAX_RECORD_CHARS)") from None
                        truncated = text.eof and unfinished
                        ends = " (the file ends inside this record: truncated?)" if truncated else ""
                        err = SourceError(f"{path}: record {index} (line {line}): invalid JSON at line {eline}, "
                                          f"column {ecol}: {json_error(exc)}{ends}")
                        if truncated and keep_going_at_truncation:
                            yield JsonElement(index, line, err, False)
                            return
                        raise err from None
                bad = text.dirty and _SURROGATE.search(text.buf, pos, end) is not None
                yield JsonElement(index, line, value, bad)
                index += 1
                pos = text.skip_ws(end)
                if pos < len(text.buf) and text.buf[pos] == ",":
                    pos = text.skip_ws(pos + 1)
                    continue
                if pos < len(text.buf) and text.buf[pos] == "]":
                    pos += 1
                    break
                eline, ecol = text.line_col(pos)
                got = "the end of the file (truncated?)" if pos >= len(text.buf) else repr(text.buf[pos])
                err = SourceError(f"{path}: after record {index - 1}: line {eline}, column {ecol}: "
                                  f"expected ',' or ']', got {got}")
                if pos >= len(text.buf) and keep_going_at_truncation:
                    log.warning("%s", err)
                    return
                raise err
        pos = text.skip_ws(pos)
        if pos < len(text.buf):
            eline, ecol = text.line_col(pos)
            raise SourceError(f"{path}: line {eline}, column {ecol}: unexpected text after the end of the list")
    finally:
        text.close()
