"""Stream the elements of a top-level JSON array (or of the array under one key of the
top-level object) without loading the file whole.

DPR's retriever-training files are one JSON list (NQ train is about 8 GB) and SQuAD-shaped
files one object whose "data" list holds every article, so `json.load` would hold every
record at once. `ijson` is the library for this but is not a dependency;
the standard library's `JSONDecoder.raw_decode` parses one element at a time from a
sliding text buffer, which keeps memory at one chunk plus one record.
"""

from __future__ import annotations

import codecs
import json
import logging
import re
from collections.abc import Generator, Iterator
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
        self.strict_utf8 = strict_utf8
        errors = "strict" if strict_utf8 else "surrogateescape"
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")(errors=errors)
        self.buf = ""
        self.eof = False
        self.bytes_read = 0
        # A cursor for line numbers: buf[:cur_pos] holds cur_line - 1 newlines (counting
        # text already dropped), so numbering each element costs only the text since the last.
        self.cur_pos = 0
        self.cur_line = 1
        # For columns on long lines (a generated JSON file is often one line): characters
        # dropped so far, and the file offset of the last newline among them (-1: none).
        self.dropped = 0
        self.last_newline = -1
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
        if not self.strict_utf8 and not self.dirty and _SURROGATE.search(text):  # strict: none can be there
            self.dirty = True
        self.buf += text
        self.eof = final
        return not final or bool(text)

    def compact(self, pos: int) -> int:
        """Drop buf[:pos]; returns the new position (0)."""
        if pos:
            self.line_at(pos)
            newline = self.buf.rfind("\n", 0, pos)
            if newline >= 0:
                self.last_newline = self.dropped + newline
            self.dropped += pos
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
        newline = self.buf.rfind("\n", 0, pos)
        col = pos - newline if newline >= 0 else self.dropped + pos - self.last_newline
        return self.line_at(pos), col

    def skip_ws(self, pos: int) -> int:
        """Position of the next non-whitespace character, reading more as needed (len(buf) at EOF)."""
        while True:
            pos = _WS.match(self.buf, pos).end()  # type: ignore[union-attr]
            if pos < len(self.buf) or not self.more():
                return pos

    def close(self) -> None:
        self.f.close()


def _decode(text: _Text, decoder: json.JSONDecoder, pos: int) -> tuple[Any, int] | json.JSONDecodeError:
    """The JSON value at `pos` and the position after it, reading more of the file while the
    value may go on; the decoder's error once more text cannot help (or past the size limit)."""
    while True:
        try:
            value, end = decoder.raw_decode(text.buf, pos)
            # A value that ends exactly at the buffer's end (a number) may go on.
            if end < len(text.buf) or not text.more():
                return value, end
        except json.JSONDecodeError as exc:
            # Maybe the value continues in the next chunk.
            if len(text.buf) - pos < MAX_RECORD_CHARS and text.more():
                continue
            return exc


def _unfinished(text: _Text, exc: json.JSONDecodeError) -> bool:
    """The error is where the text runs out: the value is fine so far (too long, or truncated)."""
    return exc.pos >= len(text.buf.rstrip()) or exc.msg.startswith("Unterminated string")


def _got(text: _Text, pos: int) -> str:
    return "the end of the file (truncated?)" if pos >= len(text.buf) else repr(text.buf[pos])


def iter_json_array(path: Path, *, what: str = "a JSON list of records", strict_utf8: bool = True,
                    keep_going_at_truncation: bool = False, key: str | None = None) -> Iterator[JsonElement]:
    """Yield every element of the JSON array that is `path`'s whole content, or with `key`,
    of the array under that key of the top-level object (SQuAD's ``{"data": [...]}``; the
    object's other members are parsed and skipped).

    Raises SourceError naming the file, line and column for a wrong top level, invalid JSON
    or a non-UTF-8 byte (with `strict_utf8`; otherwise such elements are flagged). A file
    that ends inside an element raises, or with `keep_going_at_truncation` yields that last
    element as `JsonElement(value=SourceError(...))` and stops.

    With `key`, `what` names the format ("SQuAD JSON"): a wrong top level reads "<file>: not
    <what>: expected an object with a '<key>' list at the top level (...)", and invalid JSON
    "<file>: invalid JSON at line L, column C: <why> (in <key>[i], from line N)"."""
    text = _Text(path, strict_utf8=strict_utf8)
    decoder = json.JSONDecoder()
    try:
        pos = text.skip_ws(0)
        if key is None:
            if pos >= len(text.buf) or text.buf[pos] != "[":
                got = "an empty file" if pos >= len(text.buf) else repr(text.buf[pos])
                line, col = text.line_col(pos)
                raise SourceError(f"{path}: line {line}, column {col}: expected {what} (a '[' at the top level), got {got}")
            pos = yield from _elements(text, decoder, pos, path, None, keep_going_at_truncation)
            trailing = "the list"
        else:
            pos = yield from _members(text, decoder, pos, path, key, what)
            trailing = "the top-level object"
        pos = text.skip_ws(pos)
        if pos < len(text.buf):
            eline, ecol = text.line_col(pos)
            raise SourceError(f"{path}: line {eline}, column {ecol}: unexpected text after the end of {trailing}")
    finally:
        text.close()


def _invalid(text: _Text, path: Path, at: int, why: str) -> SourceError:
    line, col = text.line_col(at)
    return SourceError(f"{path}: invalid JSON at line {line}, column {col}: {why}")


def _members(text: _Text, decoder: json.JSONDecoder, pos: int, path: Path, key: str,
             what: str) -> Generator[JsonElement, None, int]:
    """The top-level object: yield the elements of the array under `key`, parse the other
    members; the position after the object."""
    def shape(why: str, at: int) -> SourceError:
        line, col = text.line_col(at)
        return SourceError(f"{path}: not {what}: expected an object with a {key!r} list at the top level "
                           f"(line {line}, column {col}: {why})")

    if pos >= len(text.buf) or text.buf[pos] != "{":
        raise shape("an empty file" if pos >= len(text.buf) else f"got {text.buf[pos]!r}", pos)
    pos = text.skip_ws(pos + 1)
    found = False
    if pos < len(text.buf) and text.buf[pos] == "}":
        raise shape(f"no {key!r} key", pos)
    while True:
        if pos > CHUNK_BYTES:
            pos = text.compact(pos)
        if pos >= len(text.buf) or text.buf[pos] != '"':
            raise _invalid(text, path, pos, f"expected a property name in double quotes, got {_got(text, pos)}")
        got = _decode(text, decoder, pos)
        if isinstance(got, json.JSONDecodeError):
            raise _invalid(text, path, got.pos, json_error(got)) from None
        name, pos = got
        pos = text.skip_ws(pos)
        if pos >= len(text.buf) or text.buf[pos] != ":":
            raise _invalid(text, path, pos, f"expected ':' after a property name, got {_got(text, pos)}")
        pos = text.skip_ws(pos + 1)
        if name == key:
            if found:
                raise _invalid(text, path, pos, f"a second {key!r} key")
            if pos >= len(text.buf) or text.buf[pos] != "[":
                raise shape(f"{key!r} is not a list" if pos < len(text.buf) else f"got {_got(text, pos)}", pos)
            found = True
            pos = yield from _elements(text, decoder, pos, path, key, False)
        else:
            if pos >= len(text.buf):
                raise _invalid(text, path, pos, f"expected a value, got {_got(text, pos)}")
            got = _decode(text, decoder, pos)
            if isinstance(got, json.JSONDecodeError):
                raise _invalid(text, path, got.pos, json_error(got)) from None
            pos = got[1]
        pos = text.skip_ws(pos)
        if pos < len(text.buf) and text.buf[pos] == ",":
            pos = text.skip_ws(pos + 1)
            continue
        if pos < len(text.buf) and text.buf[pos] == "}":
            if not found:
                raise shape(f"no {key!r} key", pos)
            return pos + 1
        raise _invalid(text, path, pos, f"expected ',' or '}}' after a member of the top-level object, got {_got(text, pos)}")


def _elements(text: _Text, decoder: json.JSONDecoder, pos: int, path: Path, key: str | None,
              keep_going_at_truncation: bool) -> Generator[JsonElement, None, int]:
    """Yield the elements of the array that opens at `pos`; the position after it."""
    pos = text.skip_ws(pos + 1)
    index = 0
    if pos < len(text.buf) and text.buf[pos] == "]":
        return pos + 1
    while True:
        if pos > CHUNK_BYTES:
            pos = text.compact(pos)
        line = text.line_at(pos)
        got = _decode(text, decoder, pos)
        if isinstance(got, json.JSONDecodeError):
            exc = got
            label = f"record {index}" if key is None else f"{key}[{index}]"
            unfinished = _unfinished(text, exc)
            if unfinished and not text.eof:
                # valid so far, but longer than any record should be: say so, not "invalid JSON"
                raise SourceError(
                    f"{path}: {label} (line {line}): over the record size limit: more than "
                    f"{MAX_RECORD_CHARS // (1 << 20) or MAX_RECORD_CHARS} "
                    f"{'MiB' if MAX_RECORD_CHARS >= 1 << 20 else 'characters'} without its end "
                    f"(limit: mt_aug.readers.jsonstream.MAX_RECORD_CHARS)") from None
            truncated = text.eof and unfinished
            ends = " (the file ends inside this record: truncated?)" if truncated else ""
            if key is None:
                eline, ecol = text.line_col(exc.pos)
                err = SourceError(f"{path}: {label} (line {line}): invalid JSON at line {eline}, "
                                  f"column {ecol}: {json_error(exc)}{ends}")
            else:
                err = _invalid(text, path, exc.pos, f"{json_error(exc)}{ends} (in {label}, from line {line})")
            if truncated and keep_going_at_truncation:
                yield JsonElement(index, line, err, False)
                return len(text.buf)
            raise err from None
        value, end = got
        bad = text.dirty and _SURROGATE.search(text.buf, pos, end) is not None
        yield JsonElement(index, line, value, bad)
        index += 1
        pos = text.skip_ws(end)
        if pos < len(text.buf) and text.buf[pos] == ",":
            pos = text.skip_ws(pos + 1)
            continue
        if pos < len(text.buf) and text.buf[pos] == "]":
            return pos + 1
        got_ = _got(text, pos)
        if key is None:
            eline, ecol = text.line_col(pos)
            err = SourceError(f"{path}: after record {index - 1}: line {eline}, column {ecol}: "
                              f"expected ',' or ']', got {got_}")
        else:
            err = _invalid(text, path, pos, f"expected ',' or ']' after {key}[{index - 1}], got {got_}")
        if pos >= len(text.buf) and keep_going_at_truncation:
            log.warning("%s", err)
            return len(text.buf)
        raise err
