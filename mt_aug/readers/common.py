"""What every reader shares: turning one record into a QAPair (with the empty / too-long checks
and their counts), dropping or raising on a malformed record, ids for records without one,
and progress logging on long reads."""

from __future__ import annotations

import json
import logging
import re
import time
from functools import lru_cache

from mt_aug import progress
from mt_aug.accounting import Ledger
from mt_aug.config import SourceConfig
from mt_aug.normalize import passage_id, text_hash
from mt_aug.readers import SourceError
from mt_aug.schema import Drop, QAPair

log = logging.getLogger("mt_aug.readers")

MALFORMED = "malformed record"
CONTROL = "control characters"

# Terminal escape sequences, whole (CSI such as colours "\x1b[31m" or its one-character C1 form
# "\x9b2J"; OSC such as titles and clipboard writes, to their terminator or, unterminated, to the
# end of the text, as a terminal would swallow them), the other C0/C1 control characters (tab,
# newline and carriage return are whitespace and stay), bidi embeddings, overrides and isolates,
# zero-width space and a stray BOM: never text a model should translate or a trainer see.
_ANSI = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c|$)"
                   r"|\x1b[@-Z\\-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u202a-\u202e\u2066-\u2069\ufeff]+")


def strip_controls(text: str) -> str:
    """`text` without escape sequences and control characters (each run -> one space where it
    separated two characters). Unchanged text is returned as is (the same object)."""
    # Every character the pattern removes is unprintable (Cc or Cf), so a printable text has
    # none: one C loop, several times faster than the search (most text takes this path).
    if text.isprintable() or not _CONTROL.search(text):
        return text
    return _CONTROL.sub(" ", _ANSI.sub("", text))


@lru_cache(maxsize=4096)
def _passage_id(passage: str) -> str:
    # Sources ask several questions of one passage in a row (SQuAD ~5): normalize it once.
    return passage_id(passage)


# Passages and titles repeat for every question asked of them: each distinct one is cleaned
# (and counted in words) once. Results carry whether cleaning changed the text, since the
# cached text may be another (equal) object than the caller's.
@lru_cache(maxsize=4096)
def _clean_passage(passage: str) -> tuple[str, bool]:
    cleaned = strip_controls(passage)
    return cleaned.strip(), cleaned is not passage


@lru_cache(maxsize=4096)
def _clean_title(title: str) -> tuple[str, bool]:
    cleaned = strip_controls(title)
    return cleaned.strip().replace("_", " "), cleaned is not title


@lru_cache(maxsize=4096)
def _clean(text: str) -> tuple[str, bool]:
    cleaned = strip_controls(text)
    return cleaned, cleaned is not text


@lru_cache(maxsize=4096)
def _n_words(passage: str) -> int:
    return len(passage.split())


def content_id(*texts: str) -> str:
    """The id of a record that has none of its own: a hash of its texts, stable when the
    file is reordered or appended to (an index would not be)."""
    return "h" + text_hash("\x1f".join(texts))


def make_pair(
    source: SourceConfig,
    rid: str,
    question: str,
    title: str,
    passage: str,
    answers: tuple[str, ...],
    ledger: Ledger,
    *,
    hard_negatives: tuple[tuple[str, str], ...] = (),
    answer_start: int = -1,
) -> QAPair | None:
    """A kept pair, or None after counting why the record was dropped (empty question, empty
    passage, passage longer than `max_passage_words`). Control characters and terminal escapes
    are removed first (the record counted under `normalized: control characters`); a question
    or passage that held nothing else is dropped as empty. The caller has counted the read.
    `answer_start`: the first answer's offset in the source's passage (SQuAD spans; -1: none),
    moved with the whitespace stripped from the passage's start."""
    raw_passage = passage
    cleaned_q = question if question.isprintable() else strip_controls(question)
    passage, passage_changed = _clean_passage(passage)
    title, title_changed = _clean_title(title)
    changed = cleaned_q is not question or passage_changed or title_changed
    if hard_negatives:
        negs = [(_clean(t), _clean(x)) for t, x in hard_negatives]
        if changed or any(t[1] or x[1] for t, x in negs):
            changed = True
            # (as it always was: negatives are stripped only in a record that had control characters)
            hard_negatives = tuple((t[0].strip(), x[0].strip()) for t, x in negs)
    if changed:
        ledger.normalized(source.name, CONTROL)
    question = cleaned_q.strip()
    if not question:
        ledger.reject(Drop("collect", source.name, rid, "empty question"))
        return None
    if not passage:
        ledger.reject(Drop("collect", source.name, rid, "empty passage"))
        return None
    limit = source.max_passage_words
    if limit is not None:
        words = _n_words(passage)
        if words > limit:
            ledger.reject(Drop("collect", source.name, rid, "passage too long",
                               detail={"words": words, "max_passage_words": limit}))
            return None
    ledger.keep(source.name)
    if answer_start >= 0:
        answer_start -= len(raw_passage) - len(raw_passage.lstrip())
        if not 0 <= answer_start < len(passage):
            answer_start = -1
    return QAPair(
        source=source.name,
        id=rid,
        question=question,
        passage_title=title,
        passage=passage,
        answers=answers,
        pair_id=f"{source.name}:{rid}",
        passage_id=_passage_id(passage),
        hard_negatives=hard_negatives,
        answer_start=answer_start,
    )


def malformed(source: SourceConfig, ledger: Ledger, where: str, rid: str, why: str) -> None:
    """A record that cannot be read. Strict: raise naming file and record; else count it
    under "malformed record" with the message as evidence. The caller has counted the read."""
    malformed_message(source, ledger, rid, f"{where}: {why}")


def malformed_message(source: SourceConfig, ledger: Ledger, rid: str, msg: str) -> None:
    """As `malformed`, with the whole message (file and record included) already phrased."""
    if source.is_strict:
        raise SourceError(msg)
    ledger.reject(Drop("collect", source.name, rid, MALFORMED, detail={"error": msg}))


def answers_of(value: object) -> tuple[str, ...] | None:
    """Answers as sources spell them: a string, a list of strings, or SQuAD / HF style
    ({"text": [...]} or [{"text": ...}]). None when the value is none of these."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value.strip() else ()
    if isinstance(value, dict):
        return answers_of(value.get("text"))
    if isinstance(value, list):
        out: list[str] = []
        for a in value:
            if isinstance(a, dict):
                a = a.get("text")
            if not isinstance(a, str):
                return None
            out.append(a)
        return tuple(dict.fromkeys(out))
    return None


def json_error(exc: json.JSONDecodeError) -> str:
    """The decoder's message without its dangling position words ("Unterminated string starting at")."""
    return exc.msg.removesuffix(" starting at").removesuffix(" at")


class Progress:
    """Logs records/s of a long read every `every_s` seconds (checked every `check_every` records)."""

    def __init__(self, source: str, what: str = "records", every_s: float = 5.0, check_every: int = 10_000) -> None:
        self.source, self.what, self.every_s, self.check_every = source, what, every_s, check_every
        self.n = 0
        self._next_check = check_every
        self.t0 = self._last = time.monotonic()

    def tick(self, n: int = 1) -> None:
        self.n += n
        if self.n >= self._next_check:
            self._next_check = self.n + self.check_every
            now = time.monotonic()
            if now - self._last >= self.every_s:
                self._last = now
                if progress.bars_live():  # a progress bar shows it already
                    return
                log.info("read %s: %d %s, %.0f %s/s", self.source, self.n, self.what,
                         self.n / max(now - self.t0, 1e-9), self.what)
