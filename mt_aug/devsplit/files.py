"""The dev split's files, from the held-out pairs in every build language.

- `dev/lareqa/{lang}.json`: SQuAD JSON whose paragraphs carry `sentences`, `sentence_breaks`
  (the build's own segmentation; `[start, end)` of each sentence in `context`, the sentences
  joined as the build reassembles a passage) and `passage_id` (the same string in every
  language). Sentence j of a paragraph is sentence j in every language. A question's answer
  is its English span carried into the joined English context; in another language it is the
  whole sentence j that holds the English answer's start (`answer_start` = that sentence's
  start), which is what a LAReQA reader takes as the relevant candidate. Question ids are the
  pairs' ids (`<source>:<id>`), the same in every language. Only from sources with answer
  spans (format squad).
- `dev/beir/{lang}/corpus.jsonl` ({_id, title, text}; _id the passage_id), `queries.jsonl`
  ({_id, text}; _id the pair_id), `qrels/test.tsv` (`query-id<TAB>corpus-id<TAB>score`):
  passage level, every source. English passages as in the shards (as read); others as
  reassembled from their sentences.

A question lost in a language (its own translation, its passage's or title's failed the gate,
or a target-side eval match) is absent from that language's files and counted by reason.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from mt_aug.devsplit.align import AnswerSpan, Opcodes, Paragraph, alignment, answer_span, paragraph
from mt_aug.devsplit.judge import DEV_STAGE_PREFIX, DevLanguage
from mt_aug.devsplit.select import rank_key
from mt_aug.schema import SOURCE_LANG, Drop
from mt_aug.translation.segment import join_segments
from mt_aug.translation.texts import Segmented

DEV_DIR = "dev"
SPAN_FORMATS = ("squad",)  # source formats whose answers carry character spans
UNUSABLE = "passage not usable"  # a question kept whose paragraph is not (its first pair's title failed)


def lareqa_path(lang: str) -> str:
    return f"{DEV_DIR}/lareqa/{lang}.json"


def beir_dir(lang: str) -> str:
    return f"{DEV_DIR}/beir/{lang}"


BEIR_FILES = ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv")
QRELS_HEADER = "query-id\tcorpus-id\tscore"


@dataclass
class DevSplit:
    """The dev split of a build: its files (relative path -> bytes), the manifest's `dev` section
    (without `files`, which the writer adds with their checksums), the dev questions lost per
    language, and warnings."""

    files: dict[str, bytes] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    drops: list[Drop] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def enabled(self) -> bool:
        return bool(self.files)


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def build_dev(languages: list[str], span_sources: set[str], pairs: pa.Table, segmented: Segmented,
              per_lang: dict[str, DevLanguage], seed: int) -> DevSplit:
    """Every dev file of every language (`per_lang`: each build language's DevLanguage, English's
    from `judge.english`) and the counts. `span_sources`: the sources whose answers are spans."""
    if pairs.num_rows == 0:
        return DevSplit()
    cols = {k: pairs.column(k).to_pylist() for k in ("source", "id", "pair_id", "passage_id", "answer_start")}
    answers = pairs.column("answers").to_pylist()
    en_passages = pairs.column("passage").combine_chunks().dictionary.to_pylist()
    pcodes, tcodes = segmented.passage_codes.tolist(), segmented.title_codes.tolist()
    rows_of: dict[int, list[int]] = {}
    for row, code in enumerate(pcodes):
        rows_of.setdefault(code, []).append(row)
    pid_of = {code: cols["passage_id"][rows[0]] for code, rows in rows_of.items()}
    ordered = sorted(rows_of, key=lambda c: (rank_key(seed, pid_of[c]), c))  # the files' order: the split's
    title_of = {code: tcodes[rows[0]] for code, rows in rows_of.items()}
    en = per_lang[SOURCE_LANG]
    en_par = {c: paragraph(en.passages[c] or (), SOURCE_LANG) for c in rows_of}

    # English answer spans (span sources only)
    spans: dict[int, AnswerSpan] = {}
    ops: dict[int, Opcodes] = {}
    no_span = 0
    for row in range(pairs.num_rows):
        if cols["source"][row] not in span_sources:
            continue
        code = pcodes[row]
        start = cols["answer_start"][row]
        got = None
        if answers[row] and start >= 0:
            if code not in ops:
                ops[code] = alignment(en_passages[code], en_par[code])
            got = answer_span(en_passages[code], en_par[code], answers[row][0], start, ops[code])
        if got is None:
            no_span += 1
        else:
            spans[row] = got
    lareqa_codes = [c for c in ordered if any(r in spans for r in rows_of[c])]

    out = DevSplit()
    sources_seen = sorted(set(cols["source"]))
    skipped = [s for s in sources_seen if s not in span_sources]
    if skipped:
        out.warnings.append(f"dev split: source(s) {', '.join(skipped)} have no answer spans: their dev questions "
                            "are in the BEIR files only, not in dev/lareqa")
    languages_out: dict[str, dict[str, Any]] = {}
    for lang in languages:
        dl = per_lang[lang]
        par: dict[int, Paragraph] = {}
        for c in ordered:
            sents = dl.passages[c]
            title = dl.titles[title_of[c]]
            if sents is None or title is None:
                continue
            p = paragraph(sents, lang)
            if len(p.sentences) == len(en_par[c].sentences):
                par[c] = p
        drops = list(dl.drops)
        kept: list[int] = []
        for row, q in enumerate(dl.questions):
            if q is None:
                continue
            if pcodes[row] in par:
                kept.append(row)
            else:
                drops.append(Drop(f"{DEV_STAGE_PREFIX}quality", cols["source"][row], cols["id"][row], UNUSABLE,
                                  lang=lang))
        kept_set = set(kept)
        # BEIR: one corpus entry per passage_id (its first paragraph's text)
        corpus, seen_pids = [], set()
        for c in ordered:
            if c in par and pid_of[c] not in seen_pids:
                seen_pids.add(pid_of[c])
                text = en_passages[c] if lang == SOURCE_LANG else join_segments(list(dl.passages[c] or ()), lang)
                corpus.append({"_id": pid_of[c], "title": dl.titles[title_of[c]], "text": text})
        order = [r for c in ordered for r in rows_of[c] if r in kept_set]
        queries = [{"_id": cols["pair_id"][r], "text": dl.questions[r]} for r in order]
        qrels = [QRELS_HEADER] + [f"{cols['pair_id'][r]}\t{cols['passage_id'][r]}\t1" for r in order]
        base = beir_dir(lang)
        out.files[f"{base}/corpus.jsonl"] = _jsonl(corpus)
        out.files[f"{base}/queries.jsonl"] = _jsonl(queries)
        out.files[f"{base}/qrels/test.tsv"] = ("\n".join(qrels) + "\n").encode("utf-8")
        entry: dict[str, Any] = {"passages": len(corpus), "questions": len(queries),
                                 "dropped": dict(sorted(Counter(d.reason for d in drops).items()))}
        if lareqa_codes:
            doc, n_q = _lareqa(lang, lareqa_codes, rows_of, par, spans, kept_set, dl, cols["pair_id"], pid_of,
                               title_of)
            out.files[lareqa_path(lang)] = (json.dumps(doc, ensure_ascii=False) + "\n").encode("utf-8")
            entry["lareqa_questions"] = n_q
            entry["lareqa_paragraphs"] = sum(len(a["paragraphs"]) for a in doc["data"])
        languages_out[lang] = entry
        out.drops += drops
    by_source: dict[str, dict[str, Any]] = {}
    for s in sources_seen:
        rows = [r for r, src in enumerate(cols["source"]) if src == s]
        by_source[s] = {"questions": len(rows), "passages": len({cols["passage_id"][r] for r in rows}),
                        "answer_spans": s in span_sources}
    if not lareqa_codes and not skipped:
        out.warnings.append("dev split: no dev question has an answer span in its passage: no dev/lareqa files")
    out.summary = {
        "passages": len(set(pid_of.values())), "questions": pairs.num_rows, "sources": by_source,
        "languages": languages_out,
        "lareqa": {"sources": [s for s in sources_seen if s in span_sources], "questions": len(spans),
                   "no_answer_span": no_span},
        "warnings": list(out.warnings),
    }
    return out


def _lareqa(lang: str, codes: list[int], rows_of: dict[int, list[int]], par: dict[int, Paragraph],
            spans: dict[int, AnswerSpan], kept: set[int], dl: DevLanguage, pair_ids: list[str],
            pid_of: dict[int, str], title_of: dict[int, int]) -> tuple[dict[str, Any], int]:
    """One language's LAReQA document: articles by title, in the split's order."""
    articles: dict[int, dict[str, Any]] = {}  # English title code -> article
    n = 0
    for c in codes:
        p = par.get(c)
        if p is None:
            continue
        qas = []
        for r in rows_of[c]:
            span = spans.get(r)
            if span is None or r not in kept:
                continue
            if lang == SOURCE_LANG:
                answer = {"text": span.text, "answer_start": span.start}
            else:
                start, end = p.breaks[span.sentence]
                answer = {"text": p.context[start:end], "answer_start": start}
            qas.append({"id": pair_ids[r], "question": dl.questions[r], "answers": [answer]})
        n += len(qas)
        article = articles.setdefault(title_of[c], {"title": dl.titles[title_of[c]], "paragraphs": []})
        article["paragraphs"].append({"context": p.context, "qas": qas, "sentences": list(p.sentences),
                                      "sentence_breaks": [list(b) for b in p.breaks], "passage_id": pid_of[c]})
    return {"version": "1.1", "data": list(articles.values())}, n


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
