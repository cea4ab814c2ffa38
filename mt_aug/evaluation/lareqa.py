"""Reader for the LAReQA format (XQuAD-R, MLQA-R).

One SQuAD v1.1 JSON file per language whose paragraphs also carry ``sentences`` (list of
strings) and ``sentence_breaks`` (list of ``[start, end]`` character offsets into
``context``). The candidates of a language are every sentence of every paragraph of its
file, one per (paragraph, sentence), in file order, with no deduplication. A question's
relevant candidate in a language is the sentence of its paragraph whose span contains the
first answer's ``answer_start``; across languages, questions are matched by ``id``.

Structural problems (no ``sentence_breaks``, offsets outside the context, overlapping
sentences, duplicate ids, JSON nested too deep to read, a lone UTF-16 surrogate in a text) are
errors naming the file and the question or paragraph. A question whose answer start lies in
no sentence (or that has no answer) cannot be scored in its language: it is recorded in
:attr:`LanguageSet.unscorable` with the reason, counted in the report, and never silently
dropped.
"""

from __future__ import annotations

import glob
import hashlib
import json
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

LANG_PLACEHOLDER = "{lang}"
_LANG_RX = r"(?P<lang>[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?)"


class EvalDataError(ValueError):
    """Bad evaluation input: the message names the file and the record."""


@dataclass(frozen=True)
class LanguageSet:
    """One language file of a LAReQA-format set, as arrays ready for scoring."""

    lang: str
    path: Path
    sha256: str
    candidates: list[str]  # sentence texts, one per (paragraph, sentence)
    candidate_paragraph: np.ndarray  # int64 [n_candidates]: paragraph index of each candidate
    paragraphs: list[str]  # paragraph contexts, in file order (one per paragraph, not deduplicated)
    question_ids: list[str]  # scorable questions only
    questions: list[str]
    answer: np.ndarray  # int64 [n_questions]: candidate index of each question's answer sentence
    question_paragraph: np.ndarray  # int64 [n_questions]: paragraph index of each question
    unscorable: dict[str, str] = field(default_factory=dict)  # question id -> reason
    # Per paragraph: its `passage_id` (None where it has none) and the ids of its questions
    # (scorable or not): what lines paragraphs up across languages for bitext mining.
    passage_ids: list[str | None] = field(default_factory=list)
    paragraph_question_ids: list[tuple[str, ...]] = field(default_factory=list)

    @property
    def answer_of(self) -> dict[str, int]:
        return dict(zip(self.question_ids, self.answer.tolist(), strict=True))


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


# A JSON \u escape of a UTF-16 surrogate (D800-DFFF): a valid pair decodes to one character,
# a lone one to a str that cannot be encoded (the tokenizer, the report): found before use.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def load_json_doc(path: Path, raw: bytes, error: type[ValueError]) -> Any:
    """``raw`` parsed as JSON; `error` naming ``path`` for bytes that are not UTF-8 JSON and
    for nesting deeper than Python's parser recurses (100,000 ``[``)."""
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(f"{path}: not valid JSON: {exc}") from None
    except RecursionError:
        raise error(f"{path}: not valid JSON: nested too deep to read") from None


def lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def read_lareqa(path: Path, lang: str, *, strict: bool = False) -> LanguageSet:
    """Read one language file. ``strict``: an unscorable question is an error, not a count."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise EvalDataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    doc = load_json_doc(path, raw, EvalDataError)
    check_text = _SURROGATE_ESCAPE.search(raw) is not None  # else no text can hold a lone surrogate
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise EvalDataError(f"{path}: expected SQuAD JSON with a top-level 'data' list")

    candidates: list[str] = []
    cand_par: list[int] = []
    paragraphs: list[str] = []
    qids: list[str] = []
    questions: list[str] = []
    answers: list[int] = []
    q_par: list[int] = []
    unscorable: dict[str, str] = {}
    seen: set[str] = set()
    passage_ids: list[str | None] = []
    par_qids: list[tuple[str, ...]] = []
    seen_passages: dict[str, str] = {}

    for ai, article in enumerate(doc["data"]):
        if not isinstance(article, dict) or not isinstance(article.get("paragraphs"), list):
            raise EvalDataError(f"{path}: data[{ai}]: expected an object with a 'paragraphs' list")
        for pi, para in enumerate(article["paragraphs"]):
            loc = f"data[{ai}].paragraphs[{pi}]"
            if not isinstance(para, dict) or not isinstance(para.get("context"), str) \
                    or not isinstance(para.get("qas"), list):
                raise EvalDataError(f"{path}: {loc}: expected an object with a 'context' string and a 'qas' list")
            context = para["context"]
            breaks = para.get("sentence_breaks")
            if breaks is None:
                raise EvalDataError(f"{path}: {loc}: no 'sentence_breaks' (not a LAReQA-format file: "
                                    "XQuAD-R / MLQA-R paragraphs carry 'sentences' and 'sentence_breaks')")
            if not isinstance(breaks, list) or not breaks or not all(
                    isinstance(b, list) and len(b) == 2 and all(_is_int(x) for x in b) for b in breaks):
                raise EvalDataError(f"{path}: {loc}: 'sentence_breaks' must be a non-empty list of "
                                    "[start, end] integer pairs")
            for bi, (start, end) in enumerate(breaks):
                if not 0 <= start < end <= len(context):
                    raise EvalDataError(f"{path}: {loc}: sentence_breaks[{bi}] = [{start}, {end}] is outside "
                                        f"the context ({len(context)} characters)")
            by_start = sorted(range(len(breaks)), key=lambda i: (breaks[i][0], breaks[i][1]))
            for a, b in zip(by_start, by_start[1:]):
                if breaks[b][0] < breaks[a][1]:  # an answer start there would lie in two sentences
                    raise EvalDataError(f"{path}: {loc}: sentence_breaks[{b}] = {breaks[b]} overlaps "
                                        f"sentence_breaks[{a}] = {breaks[a]} (sentences must not overlap)")
            pid = para.get("passage_id")
            if pid is not None:
                if not isinstance(pid, str) or not pid:
                    raise EvalDataError(f"{path}: {loc}: 'passage_id' must be a non-empty string")
                if pid in seen_passages:
                    raise EvalDataError(f"{path}: {loc}: passage_id {pid!r} appears twice "
                                        f"(also {seen_passages[pid]})")
                seen_passages[pid] = loc
            sentences = para.get("sentences")
            if sentences is None:
                sentences = [context[s:e] for s, e in breaks]
            elif not isinstance(sentences, list) or not all(isinstance(s, str) for s in sentences):
                raise EvalDataError(f"{path}: {loc}: 'sentences' must be a list of strings")
            elif len(sentences) != len(breaks):
                raise EvalDataError(f"{path}: {loc}: {len(sentences)} 'sentences' but "
                                    f"{len(breaks)} 'sentence_breaks'")
            if check_text:
                for what, text in [("context", context), *((f"sentences[{i}]", t) for i, t in enumerate(sentences))]:
                    if lone_surrogate(text):
                        raise EvalDataError(f"{path}: {loc}: {what} holds a lone UTF-16 surrogate (\\u escape "
                                            "D800-DFFF without its pair): not text")
            par_index = len(paragraphs)
            paragraphs.append(context)
            passage_ids.append(pid)
            ids_here: list[str] = []
            first = len(candidates)
            candidates.extend(sentences)
            cand_par.extend([par_index] * len(sentences))
            # Breaks sorted by start (they are in the data); a start falls in the last break
            # starting at or before it, if that break also ends after it.
            order = sorted(range(len(breaks)), key=lambda i: breaks[i][0])
            starts = [breaks[i][0] for i in order]

            for qi, qa in enumerate(para["qas"]):
                if not isinstance(qa, dict) or not isinstance(qa.get("question"), str) or qa.get("id") is None:
                    raise EvalDataError(f"{path}: {loc}.qas[{qi}]: expected an object with 'id' and 'question'")
                qid = str(qa["id"])
                if qid in seen:
                    raise EvalDataError(f"{path}: question id {qid!r} appears twice")
                seen.add(qid)
                ids_here.append(qid)
                if check_text and (lone_surrogate(qa["question"]) or lone_surrogate(qid)):
                    raise EvalDataError(f"{path}: {loc}.qas[{qi}]: question {ascii(qid)} holds a lone UTF-16 "
                                        "surrogate (\\u escape D800-DFFF without its pair): not text")
                ans = qa.get("answers")
                if not isinstance(ans, list) or not ans:
                    reason = "no answer"
                else:
                    a0 = ans[0]
                    if not isinstance(a0, dict) or not _is_int(a0.get("answer_start")):
                        raise EvalDataError(f"{path}: question {qid!r}: answers[0] needs an integer 'answer_start'")
                    a = a0["answer_start"]
                    j = bisect_right(starts, a) - 1
                    if 0 <= a < len(context) and j >= 0 and a < breaks[order[j]][1]:
                        qids.append(qid)
                        questions.append(qa["question"])
                        answers.append(first + order[j])
                        q_par.append(par_index)
                        continue
                    reason = (f"answer_start {a} is in no sentence of its paragraph" if 0 <= a < len(context)
                              else f"answer_start {a} is outside the context ({len(context)} characters)")
                if strict:
                    raise EvalDataError(f"{path}: question {qid!r}: {reason}")
                unscorable[qid] = reason
            par_qids.append(tuple(ids_here))
    if not qids and not unscorable:
        raise EvalDataError(f"{path}: holds no questions")
    return LanguageSet(
        lang=lang, path=path, sha256=hashlib.sha256(raw).hexdigest(), candidates=candidates,
        candidate_paragraph=np.asarray(cand_par, dtype=np.int64), paragraphs=paragraphs,
        question_ids=qids, questions=questions, answer=np.asarray(answers, dtype=np.int64),
        question_paragraph=np.asarray(q_par, dtype=np.int64), unscorable=unscorable, passage_ids=passage_ids,
        paragraph_question_ids=par_qids)


def expand_paths(pattern: str, languages: list[str] | None, *, folders: bool = False) -> dict[str, Path]:
    """``'dir/{lang}.json'`` -> {lang: path}. Without ``languages``, every file (``folders``:
    every folder) matching the pattern with a language code (``en``, ``zh-Hans``, ``pt_BR``)
    for ``{lang}`` is taken, in sorted order of code (so a report written beside the data is
    not read as a language)."""
    what = "folder" if folders else "file"
    exists = Path.is_dir if folders else Path.is_file
    if LANG_PLACEHOLDER not in pattern:
        example = "beir/{lang}" if folders else "xquad-r/{lang}.json"
        raise EvalDataError(f"--paths {pattern!r}: must contain {LANG_PLACEHOLDER} (e.g. {example!r})")
    if languages:
        out = {lang: Path(pattern.replace(LANG_PLACEHOLDER, lang)) for lang in languages}
        for lang, p in out.items():
            if not exists(p):
                raise EvalDataError(f"{p}: no such {what} (language {lang!r} of --paths {pattern!r})")
        return out
    head, _, tail = pattern.partition(LANG_PLACEHOLDER)
    rx = re.compile(re.escape(head) + _LANG_RX + re.escape(tail) + r"\Z")
    found: dict[str, Path] = {}
    for name in glob.glob(glob.escape(head) + "*" + glob.escape(tail)):
        m = rx.match(name)
        if m and exists(Path(name)):
            found[m.group("lang")] = Path(name)
    if not found:
        raise EvalDataError(f"--paths {pattern!r}: no {what} matches")
    return dict(sorted(found.items()))


def read_sets(pattern: str, languages: list[str] | None = None, *, strict: bool = False) -> list[LanguageSet]:
    """Read every language of a set; every pair of languages must share a question id."""
    sets = [read_lareqa(p, lang, strict=strict) for lang, p in expand_paths(pattern, languages).items()]
    check_pairs(sets)
    return sets


def check_pairs(sets: list[LanguageSet]) -> None:
    ids = {s.lang: set(s.question_ids) for s in sets}
    for a in sets:
        for b in sets:
            if a.lang < b.lang and not ids[a.lang] & ids[b.lang]:
                raise EvalDataError(f"{a.path} and {b.path}: no scorable question id in common, so the pairs "
                                    f"{a.lang}-{b.lang} and {b.lang}-{a.lang} cannot be scored "
                                    "(leave one language out with --languages)")
