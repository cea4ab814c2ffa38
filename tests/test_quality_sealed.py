"""The sealed quality split (issue 22, tests/data/quality/sealed): the files parse, ids are
unique, outputs and verdicts cover every source line, and each labelled part's strata file
matches its rows (every drop labelled, the seeded kept sample, valid labels). No model runs."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from pathlib import Path

import pytest

SEALED = Path(__file__).parent / "data" / "quality" / "sealed"
SHARES = {"wiki": 275, "question": 125, "query": 100}
CLASSES = {"meaning", "sense", "entity", "number", "added", "untranslated", "garbage", "truncated"}
ROW_KEYS = {"id", "genre", "source", "output", "back", "frozen_verdict", "frozen_reason"}
LABEL_KEYS = {"id", "genre", "source", "output", "stratum", "label", "reason", "note"}


def rows(name: str) -> list[dict]:
    lines = (SEALED / name).read_text(encoding="utf-8").splitlines()
    assert all(lines), f"{name}: blank line"
    return [json.loads(x) for x in lines]


@pytest.mark.parametrize("part", ["a", "b"])
def test_sealed_part_sources_outputs_and_verdicts(part: str) -> None:
    src = rows(f"part_{part}_source.jsonl")
    ids = [r["id"] for r in src]
    assert ids == [f"{part.upper()}:{i:04d}" for i in range(1, 501)]
    assert Counter(r["genre"] for r in src) == SHARES
    out = rows(f"part_{part}.jsonl")
    assert [(r["id"], r["genre"], r["source"]) for r in out] == [(r["id"], r["genre"], r["source"]) for r in src]
    for r in out:
        assert set(r) == ROW_KEYS and r["output"].strip() and r["back"].strip()
        assert r["frozen_verdict"] in ("kept", "drop")
        assert (r["frozen_reason"] is None) == (r["frozen_verdict"] == "kept"), r["id"]


@pytest.mark.parametrize("part", ["a", "b"])
def test_sealed_labels_match_strata(part: str) -> None:
    if not (SEALED / f"part_{part}_labels.jsonl").is_file():
        pytest.skip(f"part {part.upper()} is not labelled")
    by_id = {r["id"]: r for r in rows(f"part_{part}.jsonl")}
    labels = rows(f"part_{part}_labels.jsonl")
    strata = json.loads((SEALED / f"part_{part}_labels.strata.json").read_text(encoding="utf-8"))
    assert len({x["id"] for x in labels}) == len(labels)
    drop = [i for i, r in by_id.items() if r["frozen_verdict"] == "drop"]
    kept = [i for i, r in by_id.items() if r["frozen_verdict"] == "kept"]
    assert (strata["drop"], strata["kept"]) == (len(drop), len(kept))
    assert strata["frozen_gate"] == "main bd71541, quality defaults"
    # every drop, and exactly the seeded sample of the kept
    assert {x["id"] for x in labels if x["stratum"] == "drop"} == set(drop)
    sample = random.Random(strata["kept_sample_seed"]).sample(kept, strata["kept_sampled"])
    assert {x["id"] for x in labels if x["stratum"] == "kept"} == set(sample)
    for x in labels:
        r = by_id[x["id"]]
        assert set(x) == LABEL_KEYS
        assert (x["genre"], x["source"], x["output"]) == (r["genre"], r["source"], r["output"])
        assert x["stratum"] == r["frozen_verdict"]
        assert x["label"] in ("good", "bad")
        if x["label"] == "bad":
            assert x["reason"] in CLASSES and x["note"] and x["note"].strip(), x["id"]
        else:
            assert x["reason"] is None and x["note"] is None, x["id"]
    assert all(re.fullmatch(r"[AB]:\d{4}", x["id"]) for x in labels)
