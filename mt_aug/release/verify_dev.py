"""`verify` of a build's dev split (mt_aug.devsplit): its files against the manifest's `dev`
section and drops.jsonl, their alignment across languages, and what the shards may not hold."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from mt_aug.buildfiles import MANIFEST
from mt_aug.devsplit.files import BEIR_FILES, DEV_DIR, QRELS_HEADER, beir_dir, lareqa_path
from mt_aug.devsplit.judge import DEV_STAGE_PREFIX
from mt_aug.devsplit.select import HELD_OUT, STAGE
from mt_aug.release.problems import VerifyError
from mt_aug.schema import SOURCE_LANG

DROPS = "drops.jsonl"


def is_dev_view_drop(stage: str) -> bool:
    """A dev question lost in one language (not a training view, not the held-out pair itself)."""
    return stage.startswith(DEV_STAGE_PREFIX) and stage != STAGE


def held_out(build_dir: Path) -> tuple[dict[str, str], Counter[tuple[str, str]]]:
    """From drops.jsonl: the held-out pairs (pair_id -> passage_id) and the dev questions lost per
    (language, reason)."""
    pairs: dict[str, str] = {}
    lost: Counter[tuple[str, str]] = Counter()
    path = build_dir / DROPS
    if not path.is_file():
        return pairs, lost
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                d = json.loads(line)
                stage, reason = d["stage"], d["reason"]
            except (json.JSONDecodeError, KeyError, TypeError):
                continue  # verify's drop check names the line
            if stage == STAGE and reason == HELD_OUT:
                pairs[f"{d['source']}:{d['id']}"] = str(d.get("passage_id"))
            elif is_dev_view_drop(stage):
                lost[(d.get("lang", SOURCE_LANG), reason)] += 1
    return pairs, lost


def _read(build_dir: Path, rel: str) -> str:
    path = build_dir / rel
    if not path.is_file():
        raise VerifyError(f"{rel}: listed in {MANIFEST} (dev) but missing")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise VerifyError(f"{rel}: not UTF-8 ({exc.reason})") from None


def _jsonl(build_dir: Path, rel: str, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = []
    for i, line in enumerate(_read(build_dir, rel).splitlines(), 1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise VerifyError(f"{rel}: line {i}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict) or any(not isinstance(row.get(k), str) for k in keys):
            raise VerifyError(f"{rel}: line {i}: expected an object with string {', '.join(keys)}")
        rows.append(row)
    ids = [r["_id"] for r in rows]
    if len(set(ids)) != len(ids):
        raise VerifyError(f"{rel}: an _id appears twice ({next(x for x, n in Counter(ids).items() if n > 1)!r})")
    return rows


def _beir(build_dir: Path, lang: str, entry: dict[str, Any]) -> tuple[set[str], set[str]]:
    base = beir_dir(lang)
    corpus = {r["_id"] for r in _jsonl(build_dir, f"{base}/corpus.jsonl", ("_id", "title", "text"))}
    queries = {r["_id"] for r in _jsonl(build_dir, f"{base}/queries.jsonl", ("_id", "text"))}
    lines = _read(build_dir, f"{base}/qrels/test.tsv").splitlines()
    if not lines or lines[0] != QRELS_HEADER:
        raise VerifyError(f"{base}/qrels/test.tsv: the first line is not the header {QRELS_HEADER!r}")
    judged = set()
    for i, line in enumerate(lines[1:], 2):
        parts = line.split("\t")
        if len(parts) != 3 or parts[0] not in queries or parts[1] not in corpus:
            raise VerifyError(f"{base}/qrels/test.tsv: line {i}: not a query of queries.jsonl, a passage of "
                              "corpus.jsonl and a score")
        judged.add(parts[0])
    if judged != queries:
        raise VerifyError(f"{base}/qrels/test.tsv: {len(queries - judged)} queries of queries.jsonl have no qrels")
    for what, got in (("passages", len(corpus)), ("questions", len(queries))):
        if entry.get(what) != got:
            raise VerifyError(f"{MANIFEST}: dev.languages.{lang}.{what} is {entry.get(what)}, {base} holds {got}")
    return queries, corpus


def _lareqa(build_dir: Path, lang: str, entry: dict[str, Any]) -> tuple[set[str], dict[str, list[int]]]:
    """(question ids, passage_id -> sentence count of each of its paragraphs) of one LAReQA file."""
    rel = lareqa_path(lang)
    try:
        doc = json.loads(_read(build_dir, rel))
        paragraphs = [p for a in doc["data"] for p in a["paragraphs"]]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise VerifyError(f"{rel}: not SQuAD JSON with data[].paragraphs[] ({exc})") from None
    ids: set[str] = set()
    counts: dict[str, list[int]] = {}
    for i, p in enumerate(paragraphs):
        where = f"{rel}: paragraph {i}"
        try:
            context, sents, breaks, pid = p["context"], p["sentences"], p["sentence_breaks"], p["passage_id"]
            qas = p["qas"]
        except (KeyError, TypeError):
            raise VerifyError(f"{where}: needs context, qas, sentences, sentence_breaks and passage_id") from None
        if len(sents) != len(breaks) or any(context[s:e] != t for (s, e), t in zip(breaks, sents, strict=False)):
            raise VerifyError(f"{where} ({pid}): sentence_breaks do not delimit its sentences in the context")
        counts.setdefault(pid, []).append(len(sents))
        for qa in qas:
            start = qa["answers"][0]["answer_start"]
            if not any(s <= start < e for s, e in breaks):
                raise VerifyError(f"{where}: question {qa['id']!r}: answer_start {start} is in no sentence")
            ids.add(qa["id"])
    if entry.get("lareqa_questions") != len(ids):
        raise VerifyError(f"{MANIFEST}: dev.languages.{lang}.lareqa_questions is {entry.get('lareqa_questions')}, "
                          f"{rel} holds {len(ids)}")
    return ids, counts


def verify_dev(build_dir: Path, m: dict[str, Any]) -> tuple[set[str], set[str]]:
    """Check the dev split; return the held-out (pair ids, passage ids) no shard may hold."""
    dev = m.get("dev")
    pairs, lost = held_out(build_dir)
    if dev is None:
        if pairs:
            raise VerifyError(f"{DROPS}: {len(pairs)} pairs held out for dev, but {MANIFEST} has no dev section")
        return set(), set()
    checksums = m.get("checksums") or {}
    listed = {f["path"]: f["sha256"] for f in dev.get("files", [])}
    in_sums = {p: h for p, h in checksums.items() if p.startswith(f"{DEV_DIR}/")}
    if listed != in_sums:
        raise VerifyError(f"{MANIFEST}: dev.files and checksums disagree on the dev files")
    if dev.get("questions") != len(pairs):
        raise VerifyError(f"{MANIFEST}: dev.questions is {dev.get('questions')}, {DROPS} holds {len(pairs)} pairs "
                          f"{HELD_OUT!r}")
    if dev.get("passages") != len(set(pairs.values())):
        raise VerifyError(f"{MANIFEST}: dev.passages is {dev.get('passages')}, the held-out pairs have "
                          f"{len(set(pairs.values()))}")
    langs = dev.get("languages") or {}
    if sorted(langs) != sorted(m["languages"]):
        raise VerifyError(f"{MANIFEST}: dev.languages covers {sorted(langs)}, the build's are {sorted(m['languages'])}")
    sentence_counts: dict[str, dict[str, list[int]]] = {}
    for lang in sorted(langs):
        entry = langs[lang]
        dropped = {k: v for k, v in (entry.get("dropped") or {}).items() if v}
        from_drops = {r: n for (lg, r), n in sorted(lost.items()) if lg == lang}
        if dropped != from_drops:
            raise VerifyError(f"{MANIFEST} vs {DROPS}: dev.languages.{lang}.dropped is {dropped}, the files say "
                              f"{from_drops}")
        if entry.get("questions", 0) + sum(dropped.values()) != len(pairs):
            raise VerifyError(f"{MANIFEST}: dev.languages.{lang}: questions {entry.get('questions')} + dropped "
                              f"{sum(dropped.values())} != {len(pairs)} dev questions")
        for rel in (f"{beir_dir(lang)}/{name}" for name in BEIR_FILES):
            if rel not in listed:
                raise VerifyError(f"{MANIFEST}: dev.files lacks {rel}")
        queries, corpus = _beir(build_dir, lang, entry)
        stray = (queries - set(pairs)) or (corpus - set(pairs.values()))
        if stray:
            raise VerifyError(f"{beir_dir(lang)}: {sorted(stray)[0]!r} is not a pair or passage held out for dev")
        if lang == SOURCE_LANG and (queries != set(pairs) or corpus != set(pairs.values())):
            raise VerifyError(f"{beir_dir(lang)}: the English queries and corpus are not every held-out pair and passage")
        if "lareqa_questions" in entry:
            ids, counts = _lareqa(build_dir, lang, entry)
            if ids - queries:
                raise VerifyError(f"{lareqa_path(lang)}: question {sorted(ids - queries)[0]!r} is not in "
                                  f"{beir_dir(lang)}/queries.jsonl")
            sentence_counts[lang] = counts
        elif lareqa_path(lang) in listed:
            raise VerifyError(f"{MANIFEST}: dev.files lists {lareqa_path(lang)} but dev.languages.{lang} has no "
                              "lareqa_questions")
    english = sentence_counts.get(SOURCE_LANG, {})
    for lang, counts in sorted(sentence_counts.items()):
        for pid, n in sorted(counts.items()):
            if pid not in english or english[pid] != n:
                raise VerifyError(f"{lareqa_path(lang)}: passage {pid}: {n} sentences, English has "
                                  f"{english.get(pid, 'no such passage')}")
    return set(pairs), set(pairs.values())
