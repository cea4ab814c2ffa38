"""What every reader shares: turning one record into a QAPair (with the empty / too-long checks
and their counts), dropping or raising on a malformed record, ids for records without one,
and progress logging on long reads."""

from __future__ import annotations

import json
import logging
import time
from functools import lru_cache

from mt_aug.accounting import Ledger
from mt_aug.config import SourceConfig
from mt_aug.normalize import passage_id, text_hash
from mt_aug.readers import SourceError
from mt_aug.schema import Drop, QAPair

log = logging.getLogger("mt_aug.readers")

MALFORMED = "malformed record"


@lru_cache(maxsize=4096)
def _passage_id(passage: str) -> str:
    # Sources ask several questions of one passage in a row (SQuAD ~5): normalize it once.
    return passage_id(passage)


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
) -> QAPair | None:
    """A kept pair, or None after counting why the record was dropped (empty question, empty
    passage, passage longer than `max_passage_words`). The caller has counted the read."""
    question, passage = question.strip(), passage.strip()
    if not question:
        ledger.reject(Drop("collect", source.name, rid, "empty question"))
        return None
    if not passage:
        ledger.reject(Drop("collect", source.name, rid, "empty passage"))
        return None
    limit = source.max_passage_words
    if limit is not None:
        words = len(passage.split())
        if words > limit:
            ledger.reject(Drop("collect", source.name, rid, "passage too long",
                               detail={"words": words, "max_passage_words": limit}))
            return None
    ledger.keep(source.name)
    return QAPair(
        source=source.name,
        id=rid,
        question=question,
        passage_title=title.strip().replace("_", " "),
        passage=passage,
        answers=answers,
        pair_id=f"{source.name}:{rid}",
        passage_id=_passage_id(passage),
        hard_negatives=hard_negatives,
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
                log.info("read %s: %d %s, %.0f %s/s", self.source, self.n, self.what,
                         self.n / max(now - self.t0, 1e-9), self.what)
