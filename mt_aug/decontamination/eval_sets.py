"""Readers of evaluation sets: every text a training pair must not overlap, with its eval id.

Formats (`format` of an `eval_sets` entry; files per language from `paths`, `qrels`, `corpus`):

- ``squad``: SQuAD-format JSON (XQuAD, MLQA, and the LAReQA files XQuAD-R / MLQA-R, which add
  ``sentences`` [str] and ``sentence_breaks`` [[start, end]] to each paragraph). Questions,
  contexts and (XQuAD-R / MLQA-R) sentences.
- ``miracl``: topics TSV (``qid<TAB>query``; ``topics.miracl-v1.0-<lang>-<split>.tsv``), optional
  qrels (TREC: ``qid Q0 docid#passage rel``) and optional corpus JSON lines, gzipped or not
  (``docid``, ``title``, ``text``).
- ``beir``: ``queries.jsonl`` (``_id``, ``text``), optional ``corpus.jsonl`` (``_id``, ``title``,
  ``text``) and optional qrels (BEIR TSV ``query-id<TAB>corpus-id<TAB>score``, header optional;
  TREC four-column lines are accepted too).

Corpus passages and qrels: a MIRACL corpus is the whole Wikipedia of its language (millions of
passages). Indexing all of it would condemn nearly every Wikipedia-based training passage
(SQuAD, NQ, TriviaQA) for sharing text with *some* Wikipedia passage, not with an eval item.
So when qrels are given, only the corpus passages the qrels judge (any relevance, 0
included: a judged non-relevant passage was still shown to annotators for that query) are
read; the rest of the corpus is skipped. A corpus given without qrels is read whole, with a
warning. Every split given in the config is used (train and dev topics alike).

Every reader fails loudly (SourceError naming the file and line or record) on a file in the
wrong format and on an eval file that holds nothing: a wrong path must never read as
"0 contaminated".
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from mt_aug.config import EvalSetConfig
from mt_aug.readers import SourceError
from mt_aug.readers.squad import load_json

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EvalText:
    eval_set: str
    eval_id: str
    field: str  # question | passage
    text: str


# --- files ---------------------------------------------------------------------------------

def _open_text(path: Path) -> IO[str]:
    """A text stream over a plain or gzipped file (gzip recognised by its magic bytes)."""
    try:
        with open(path, "rb") as f:
            gzipped = f.read(2) == b"\x1f\x8b"
        stream: IO[bytes] = gzip.open(path, "rb") if gzipped else open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return io.TextIOWrapper(stream, encoding="utf-8-sig", newline=None)  # closes the stream


def iter_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, line without its end) of every non-blank line; errors name file:line."""
    lineno = 0
    with _open_text(path) as f:
        try:
            for lineno, line in enumerate(f, 1):  # noqa: B007 - lineno used after the loop on errors
                line = line.rstrip("\r\n")
                if line.strip():
                    yield lineno, line
        except UnicodeDecodeError as exc:
            raise SourceError(f"{path}:{lineno + 1}: not UTF-8: {exc.reason}") from None
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise SourceError(f"{path}:{lineno + 1}: cannot read: {exc}") from None


def _parse_jsonl(path: Path, lineno: int, line: str) -> dict[str, Any]:
    try:
        rec = json.loads(line)
    except json.JSONDecodeError as exc:
        raise SourceError(f"{path}:{lineno}: invalid JSON (expected one JSON object per line): {exc.msg}") from None
    except RecursionError:
        raise SourceError(f"{path}:{lineno}: invalid JSON: nested too deep to read") from None
    if not isinstance(rec, dict):
        raise SourceError(f"{path}:{lineno}: expected a JSON object, got {type(rec).__name__}")
    return rec


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for lineno, line in iter_lines(path):
        yield lineno, _parse_jsonl(path, lineno, line)


def str_field(path: Path, lineno: int, rec: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = rec.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # numeric ids
    if isinstance(value, str):
        return value
    if value is None and not required:
        return ""
    raise SourceError(f"{path}:{lineno}: missing or non-string key {key!r} (keys: {', '.join(sorted(rec)) or 'none'})")


# --- squad ---------------------------------------------------------------------------------

def read_eval_squad(eval_set: str, path: Path) -> Iterator[EvalText]:
    """Questions, contexts and (XQuAD-R / MLQA-R) sentences of a SQuAD-format eval file.

    A context's id is its first question's id + ``#context``; sentence i of a paragraph is
    ``<first question id>#sentence<i>``."""
    doc = load_json(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise SourceError(f"{path}: not SQuAD JSON: expected an object with a 'data' list at the top level")
    seen_contexts: set[str] = set()
    n = 0
    for ai, article in enumerate(doc["data"]):
        if not isinstance(article, dict) or not isinstance(article.get("paragraphs"), list):
            raise SourceError(f"{path}: data[{ai}]: expected an object with a 'paragraphs' list")
        for pi, para in enumerate(article["paragraphs"]):
            loc = f"data[{ai}].paragraphs[{pi}]"
            if not isinstance(para, dict) or not isinstance(para.get("context"), str) or not isinstance(para.get("qas"), list):
                raise SourceError(f"{path}: {loc}: expected an object with a 'context' string and a 'qas' list")
            qids = []
            for qi, qa in enumerate(para["qas"]):
                if not isinstance(qa, dict) or not isinstance(qa.get("question"), str):
                    raise SourceError(f"{path}: {loc}.qas[{qi}]: expected a question object with a 'question' string")
                qids.append(str(qa.get("id") or f"{loc}.qas[{qi}]"))
            base = qids[0] if qids else f"{path.name}:{loc}"
            context = para["context"]
            if context not in seen_contexts:
                seen_contexts.add(context)
                yield EvalText(eval_set, f"{base}#context", "passage", context)
                for si, sentence in enumerate(_sentences(path, loc, para)):
                    yield EvalText(eval_set, f"{base}#sentence{si}", "passage", sentence)
            for qid, qa in zip(qids, para["qas"], strict=True):
                yield EvalText(eval_set, qid, "question", qa["question"])
                n += 1
    if n == 0:
        raise SourceError(f"{path}: eval file holds no questions")


def _sentences(path: Path, loc: str, para: dict[str, Any]) -> list[str]:
    """The LAReQA `sentences` of a paragraph (or the spans `sentence_breaks` cut from its context)."""
    sentences, breaks = para.get("sentences"), para.get("sentence_breaks")
    if sentences is None and breaks is None:
        return []
    if sentences is not None and (not isinstance(sentences, list) or not all(isinstance(s, str) for s in sentences)):
        raise SourceError(f"{path}: {loc}: 'sentences' must be a list of strings")
    if breaks is not None:
        if not isinstance(breaks, list) or not all(
            isinstance(b, list) and len(b) == 2 and all(isinstance(x, int) and not isinstance(x, bool) for x in b)
            for b in breaks
        ):
            raise SourceError(f"{path}: {loc}: 'sentence_breaks' must be a list of [start, end] integer pairs")
        if sentences is not None and len(breaks) != len(sentences):
            raise SourceError(f"{path}: {loc}: {len(sentences)} 'sentences' but {len(breaks)} 'sentence_breaks'")
        if sentences is None:  # the spans are the sentences (with `sentences` given, they are not needed)
            context = para["context"]
            for bi, (start, end) in enumerate(breaks):
                if not 0 <= start <= end <= len(context):
                    raise SourceError(f"{path}: {loc}: sentence_breaks[{bi}] = [{start}, {end}] is outside the "
                                      f"context ({len(context)} characters)")
            return [context[s:e] for s, e in breaks]
    return list(sentences or [])


# --- miracl / beir -------------------------------------------------------------------------

def read_topics_tsv(eval_set: str, path: Path) -> Iterator[EvalText]:
    """MIRACL topics: one ``qid<TAB>query`` per line."""
    n = 0
    for lineno, line in iter_lines(path):
        if "\t" not in line:
            raise SourceError(f"{path}:{lineno}: expected qid<TAB>query, found no tab")
        qid, query = line.split("\t", 1)
        qid, query = qid.strip(), query.strip()
        if not qid:
            raise SourceError(f"{path}:{lineno}: empty query id")
        if not query:
            raise SourceError(f"{path}:{lineno}: query {qid!r} is empty")
        yield EvalText(eval_set, qid, "question", query)
        n += 1
    if n == 0:
        raise SourceError(f"{path}: topics file holds no queries")


def read_beir_queries(eval_set: str, path: Path) -> Iterator[EvalText]:
    """BEIR queries.jsonl: {"_id", "text"} per line."""
    n = 0
    for lineno, rec in iter_jsonl(path):
        qid = str_field(path, lineno, rec, "_id")
        text = str_field(path, lineno, rec, "text")
        if text.strip():
            yield EvalText(eval_set, qid, "question", text)
            n += 1
    if n == 0:
        raise SourceError(f"{path}: queries file holds no queries")


def iter_qrels(path: Path) -> Iterator[tuple[int, str, str, float]]:
    """(line number, query id, document id, relevance) of every judgment of a qrels file:
    TREC (``qid Q0 docid rel``) or BEIR (``query-id<TAB>corpus-id<TAB>score``, header optional).
    Fails on a file holding no judgment."""
    n = 0
    for lineno, line in iter_lines(path):
        parts = line.split()
        if len(parts) == 4:
            qid, docid, rel = parts[0], parts[2], parts[3]
        elif len(parts) == 3:
            if not n and parts[0].lower() in ("query-id", "query_id", "qid"):
                continue  # BEIR header: query-id corpus-id score
            qid, docid, rel = parts
        else:
            raise SourceError(f"{path}:{lineno}: expected 'qid Q0 docid relevance' (TREC) or "
                              f"'query-id<TAB>corpus-id<TAB>score' (BEIR), found {len(parts)} fields")
        value = _number(rel)
        if value is None:
            raise SourceError(f"{path}:{lineno}: relevance {rel!r} is not a number")
        n += 1
        yield lineno, qid, docid, value
    if not n:
        raise SourceError(f"{path}: qrels file holds no judgments")


def read_qrels(path: Path) -> set[str]:
    """Docids judged in a qrels file, any relevance (see iter_qrels)."""
    return {docid for _, _, docid, _ in iter_qrels(path)}


def _number(s: str) -> float | None:
    try:
        value = float(s)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def iter_corpus(path: Path, id_key: str, keep: set[str] | None = None) -> Iterator[tuple[int, str, str, str]]:
    """(line number, docid, title, text) of every passage of a corpus JSONL(.gz) file
    (``id_key``: ``docid`` for MIRACL, ``_id`` for BEIR; ``title`` optional); with `keep`,
    only those docids. Fails on a file holding no line."""
    n = 0
    fast_id = re.compile(r'^\s*\{\s*"' + re.escape(id_key) + r'"\s*:\s*"([^"\\]*)"')
    for lineno, line in iter_lines(path):
        n += 1
        if keep is not None:
            # Most lines of a whole-Wikipedia corpus are skipped: read the id without parsing the line.
            m = fast_id.match(line)
            if m is not None and m.group(1) not in keep:
                continue
        rec = _parse_jsonl(path, lineno, line)
        docid = str_field(path, lineno, rec, id_key)
        if keep is not None and docid not in keep:
            continue
        text = str_field(path, lineno, rec, "text")
        title = str_field(path, lineno, rec, "title", required=False)
        yield lineno, docid, title, text
    if n == 0:
        raise SourceError(f"{path}: corpus file holds no passages")


def read_corpus(eval_set: str, path: Path, id_key: str, keep: set[str] | None, found: set[str]) -> Iterator[EvalText]:
    """Passages of a corpus JSONL(.gz) file; with `keep`, only those docids (found ones are
    added to `found`). The passage text is indexed, not the title (an entity name that
    many training passages share)."""
    for _, docid, _, text in iter_corpus(path, id_key, keep):
        found.add(docid)
        if text.strip():
            yield EvalText(eval_set, docid, "passage", text)


def _read_queries_corpus(cfg: EvalSetConfig, lang: str, warnings: list[str]) -> Iterator[EvalText]:
    """miracl and beir: queries of every topics file, then the judged corpus passages."""
    read_queries = read_topics_tsv if cfg.format == "miracl" else read_beir_queries
    id_key = "docid" if cfg.format == "miracl" else "_id"
    for path in cfg.files(lang):
        yield from read_queries(cfg.name, path)
    qrels_files, corpus_files = cfg.qrels_files(lang), cfg.corpus_files(lang)
    judged: set[str] | None = None
    if qrels_files:
        judged = set()
        for path in qrels_files:
            judged |= read_qrels(path)
    if not corpus_files:
        if qrels_files:
            log.info("eval set %s (%s): qrels given without a corpus: only queries are indexed", cfg.name, lang)
        return
    if judged is None:
        msg = (f"eval set {cfg.name!r} ({lang}): corpus given without qrels: every corpus passage is indexed; "
               "for a whole-Wikipedia corpus (MIRACL) this drops nearly every Wikipedia-based training passage")
        log.warning(msg)
        warnings.append(msg)
    found: set[str] = set()
    for path in corpus_files:
        yield from read_corpus(cfg.name, path, id_key, judged, found)
    if judged is not None:
        missing = len(judged - found)
        if not found:
            files = ", ".join(str(p) for p in corpus_files)
            raise SourceError(f"{files}: none of the {len(judged)} passages judged in the qrels of eval set "
                              f"{cfg.name!r} ({lang}) is in the corpus (wrong language or corpus?)")
        if missing:
            msg = (f"eval set {cfg.name!r} ({lang}): {missing} of {len(judged)} judged passages are not in the "
                   "corpus files given: those passages were not checked")
            log.warning(msg)
            warnings.append(msg)


def read_eval_set(cfg: EvalSetConfig, lang: str, warnings: list[str] | None = None) -> Iterator[EvalText]:
    """Every text of one eval set in one language (all files, all splits)."""
    warnings = warnings if warnings is not None else []
    if cfg.format == "squad":
        for key in ("qrels", "corpus"):
            if getattr(cfg, key) is not None:
                raise SourceError(f"eval set {cfg.name!r}: format squad takes no `{key}` (the JSON holds the contexts)")
        for path in cfg.files(lang):
            yield from read_eval_squad(cfg.name, path)
    elif cfg.format in ("miracl", "beir"):
        yield from _read_queries_corpus(cfg, lang, warnings)
    else:  # pragma: no cover - config validation admits only known formats
        raise SourceError(f"eval set {cfg.name!r}: unknown eval format {cfg.format!r}")
