"""Removing everything that overlaps an evaluation set, with the evidence for each removal.

An index is built once per language over every eval text: normalized passages and
questions for exact matches, and the token n-grams of passages (n=13 by default, as in
GPT-3 and NeMo Curator). Passages match by exact text or any shared n-gram; questions and
other short texts by exact normalized text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mt_aug.config import EvalSetConfig
from mt_aug.normalize import normalize_text, tokens
from mt_aug.readers import SourceError
from mt_aug.readers.squad import iter_squad_records, load_json


@dataclass(frozen=True, slots=True)
class EvalText:
    eval_set: str
    eval_id: str
    field: str  # question | passage
    text: str


@dataclass(frozen=True, slots=True)
class Match:
    eval_set: str
    eval_id: str
    field: str  # which field of the training text matched: question | passage
    method: str  # exact | ngram
    evidence: str  # the matched n-gram, or the normalized text

    def detail(self) -> dict[str, str]:
        return {
            "eval_set": self.eval_set,
            "eval_id": self.eval_id,
            "field": self.field,
            "method": self.method,
            "matched": self.evidence[:200],
        }


def read_eval_squad(eval_set: str, path: Path) -> Iterator[EvalText]:
    """Questions and passages of a SQuAD-format eval file (XQuAD, MLQA, XQuAD-R, MLQA-R)."""
    doc = load_json(path)
    seen_contexts: set[str] = set()
    n = 0
    for loc, qa, _title, context in iter_squad_records(doc, str(path)):
        if not isinstance(qa, dict) or not isinstance(qa.get("question"), str):
            raise SourceError(f"{path}: {loc}: expected a question object with a 'question' string")
        qid = str(qa.get("id") or loc)
        if context not in seen_contexts:
            seen_contexts.add(context)
            yield EvalText(eval_set, f"{qid}#context", "passage", context)
        yield EvalText(eval_set, qid, "question", qa["question"])
        n += 1
    if n == 0:
        raise SourceError(f"{path}: eval file holds no questions")


def read_eval_set(cfg: EvalSetConfig, lang: str) -> Iterator[EvalText]:
    for path in cfg.files(lang):
        if cfg.format == "squad":
            yield from read_eval_squad(cfg.name, path)
        else:  # pragma: no cover - config validation admits only known formats
            raise SourceError(f"{path}: unknown eval format {cfg.format!r}")


def _gram_key(gram: Iterable[str]) -> bytes:
    return hashlib.blake2b("\x1f".join(gram).encode("utf-8"), digest_size=8).digest()


@dataclass
class EvalIndex:
    """All eval texts of one language, indexed for matching."""

    lang: str
    n: int = 13
    exact: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # norm -> (set, id, field)
    ngrams: dict[bytes, tuple[str, str]] = field(default_factory=dict)  # gram -> (set, id)
    files: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # eval_set -> texts indexed

    def add(self, item: EvalText) -> None:
        norm = normalize_text(item.text, self.lang)
        if not norm:
            return
        self.exact.setdefault(norm, (item.eval_set, item.eval_id, item.field))
        self.counts[item.eval_set] = self.counts.get(item.eval_set, 0) + 1
        if item.field == "passage":
            toks = tokens(norm, self.lang)
            for i in range(len(toks) - self.n + 1):
                self.ngrams.setdefault(_gram_key(toks[i : i + self.n]), (item.eval_set, item.eval_id))

    def match(self, text: str, field_name: str) -> Match | None:
        """The first eval text this training text overlaps, or None."""
        norm = normalize_text(text, self.lang)
        if not norm:
            return None
        hit = self.exact.get(norm)
        if hit is not None:
            return Match(hit[0], hit[1], field_name, "exact", norm)
        toks = tokens(norm, self.lang)
        sep = " " if self.lang not in ("zh", "ja", "th") else ""
        for i in range(len(toks) - self.n + 1):
            gram = toks[i : i + self.n]
            g = self.ngrams.get(_gram_key(gram))
            if g is not None:
                return Match(g[0], g[1], field_name, "ngram", sep.join(gram))
        return None

    def __len__(self) -> int:
        return len(self.exact)


def build_index(eval_sets: list[EvalSetConfig], lang: str, n: int) -> EvalIndex | None:
    """The index over every eval set's files for one language, or None if none has any."""
    files = [(es, p) for es in eval_sets for p in es.files(lang)]
    if not files:
        return None
    index = EvalIndex(lang=lang, n=n)
    for es, path in files:
        index.files.append(str(path))
        before = len(index)
        if es.format == "squad":
            for item in read_eval_squad(es.name, path):
                index.add(item)
        if len(index) == before:
            raise SourceError(f"{path}: eval set {es.name!r} ({lang}) added no texts to the index")
    return index


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class EvalSummary:
    """Per eval set: what it removed."""

    pairs_dropped: int = 0
    passages_matched: int = 0
    questions_matched: int = 0
    methods: dict[str, int] = field(default_factory=dict)

    def add(self, m: Match) -> None:
        if m.field == "passage":
            self.passages_matched += 1
        else:
            self.questions_matched += 1
        self.methods[m.method] = self.methods.get(m.method, 0) + 1

    def to_dict(self) -> dict[str, object]:
        return {
            "pairs_dropped": self.pairs_dropped,
            "passages_matched": self.passages_matched,
            "questions_matched": self.questions_matched,
            "methods": dict(sorted(self.methods.items())),
        }


def find_contamination(
    items: Iterable[tuple[str, str, str]], index: EvalIndex, summary: dict[str, EvalSummary]
) -> dict[str, Match]:
    """Match (key, question, passage) items; passages are checked once per distinct text.

    Returns key -> the match that condemns it. A contaminated passage condemns every item
    that uses it."""
    passage_hits: dict[str, Match | None] = {}
    out: dict[str, Match] = {}
    for key, question, passage in items:
        if passage not in passage_hits:
            m = index.match(passage, "passage")
            passage_hits[passage] = m
            if m is not None:
                summary.setdefault(m.eval_set, EvalSummary()).add(m)
        m = passage_hits[passage]
        if m is None:
            m = index.match(question, "question")
            if m is not None:
                summary.setdefault(m.eval_set, EvalSummary()).add(m)
        if m is not None:
            out[key] = m
            summary.setdefault(m.eval_set, EvalSummary()).pairs_dropped += 1
    return out
