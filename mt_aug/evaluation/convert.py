"""`mt-aug convert-eval miracl`: MIRACL's files in the BEIR layout that `mt-aug evaluate
--format beir` reads.

MIRACL ships, per language, topics (``topics.miracl-v1.0-<lang>-<split>.tsv``: ``qid<TAB>query``),
qrels (TREC: ``qid Q0 docid relevance``) and a corpus of Wikipedia passages as JSON lines,
gzipped or not, split over several files (``docs-*.jsonl.gz``: ``docid``, ``title``,
``text``). They are parsed by the decontamination readers (mt_aug.decontamination.eval_sets):
one definition of each format. Written::

    DIR/corpus.jsonl      {"_id": docid, "title": ..., "text": ...}   every passage (or the judged ones)
    DIR/queries.jsonl     {"_id": qid, "text": query}                 every topic
    DIR/qrels/test.tsv    query-id<TAB>corpus-id<TAB>score            with that header line

Every judgment must name a topic and a passage of the corpus given (an error naming the file
and line, or how many judged passages the corpus lacks). The folder is built under a temporary
name beside DIR and renamed into place at the end: DIR is complete or absent.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from mt_aug.decontamination.eval_sets import iter_corpus, iter_qrels, read_topics_tsv
from mt_aug.evaluation.beir import CORPUS, QRELS, QUERIES
from mt_aug.evaluation.lareqa import EvalDataError
from mt_aug.readers import SourceError


def _score(x: float) -> str:
    return str(int(x)) if x == int(x) else repr(x)


def convert_miracl(topics: Sequence[Path], qrels: Sequence[Path], corpus: Sequence[Path], output: Path, *,
                   judged_only: bool = False, progress=None) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Write the BEIR folder ``output`` (which must not exist, or be empty); return counts.
    ``judged_only``: keep only the passages the qrels judge (a small re-ranking corpus, not
    MIRACL's retrieval task). ``progress``: an mt_aug.progress task (advance per passage)."""
    output = Path(output)
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise EvalDataError(f"{output}: --output exists and is not an empty folder (nothing was written)")
    made = [p for p in [output.parent, *output.parent.parents] if not p.exists()]  # removed again on failure
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".{output.name}.tmp-"))
    done = False
    try:
        counts = {"queries": 0, "judgments": 0, "relevant": 0, "passages": 0}
        queries: dict[str, str] = {}
        with open(tmp / QUERIES, "w", encoding="utf-8") as f:
            for path in topics:
                for t in read_topics_tsv("miracl", path):
                    if t.eval_id in queries:
                        raise EvalDataError(f"{path}: query id {t.eval_id!r} appears twice")
                    queries[t.eval_id] = t.text
                    f.write(json.dumps({"_id": t.eval_id, "text": t.text}, ensure_ascii=False) + "\n")
        counts["queries"] = len(queries)
        judged: dict[tuple[str, str], float] = {}
        where: dict[str, str] = {}
        for path in qrels:
            for lineno, qid, docid, score in iter_qrels(path):
                if qid not in queries:
                    raise EvalDataError(f"{path}:{lineno}: query id {qid!r} is not in the topics given")
                if (qid, docid) in judged:
                    raise EvalDataError(f"{path}:{lineno}: query {qid!r} judges passage {docid!r} twice")
                judged[(qid, docid)] = score
                where.setdefault(docid, f"{path}:{lineno}")
        counts["judgments"] = len(judged)
        counts["relevant"] = sum(v > 0 for v in judged.values())
        (tmp / QRELS).parent.mkdir(parents=True)
        with open(tmp / QRELS, "w", encoding="utf-8") as f:
            f.write("query-id\tcorpus-id\tscore\n")
            for (qid, docid), score in judged.items():
                f.write(f"{qid}\t{docid}\t{_score(score)}\n")
        wanted = set(where)
        found: set[str] = set()
        with open(tmp / CORPUS, "w", encoding="utf-8") as f:
            for path in corpus:
                for lineno, docid, title, text in iter_corpus(path, "docid", wanted if judged_only else None):
                    if docid in wanted:
                        if docid in found:
                            raise EvalDataError(f"{path}:{lineno}: docid {docid!r} appears twice in the corpus")
                        found.add(docid)
                    f.write(json.dumps({"_id": docid, "title": title, "text": text}, ensure_ascii=False) + "\n")
                    counts["passages"] += 1
                    if progress is not None:
                        progress.advance(1)
        lost = sorted(wanted - found)
        if lost:
            raise EvalDataError(f"{where[lost[0]]}: {len(lost)} of the {len(wanted)} judged passages are not in "
                                f"the corpus files given, e.g. {lost[0]!r} (all of a language's docs-*.jsonl.gz "
                                "are needed)")
        if output.exists():
            output.rmdir()  # empty, checked above
        os.replace(tmp, output)
        done = True
    except SourceError as exc:
        raise EvalDataError(str(exc)) from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        if not done:
            for p in made:  # innermost first
                try:
                    p.rmdir()
                except OSError:
                    break
    return counts
