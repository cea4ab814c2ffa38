"""verify checks what the builder makes true of the translation, quality-gate, decontamination
and license figures. Each test copies the demo build (the shared `demo_build`: its first run
translated with Bergamot, its second read everything from the caches), breaks one figure of
manifest.json, recomputes everything else verify compares (the card, the drop counts and
drops.jsonl's checksum) so that only that figure is wrong, and expects verify to name it."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mt_aug.core.files import sha256_file
from mt_aug.release.card import write_card
from mt_aug.release.verify import VIEW_DROP_STAGES, VerifyError, verify_build

Manifest = dict[str, Any]


def _copy(demo_build: dict, tmp_path: Path, which: str) -> Path:  # type: ignore[type-arg]
    dst = tmp_path / which
    shutil.copytree(demo_build[which], dst)
    return dst


def _drops(build: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (build / "drops.jsonl").read_text(encoding="utf-8").splitlines()]


def _recount(build: Path, m: Manifest, drops: list[dict[str, Any]]) -> None:
    """drops.jsonl rewritten, and every count verify compares with it recomputed."""
    (build / "drops.jsonl").write_text("".join(json.dumps(d) + "\n" for d in drops), encoding="utf-8")
    m["checksums"]["drops.jsonl"] = sha256_file(build / "drops.jsonl")
    by_source: dict[str, Counter[str]] = {name: Counter() for name in m["sources"]}
    by_lang: dict[str, Counter[str]] = {lang: Counter() for lang in m["translation"]}
    pairs: Counter[str] = Counter()
    views: Counter[str] = Counter()
    for d in drops:
        if d["stage"] in VIEW_DROP_STAGES or d["lang"] != "en":
            by_lang[d["lang"]][d["reason"]] += 1
            views[f"{d['lang']}/{d['reason']}"] += 1
        else:
            by_source[d["source"]][d["reason"]] += 1
            pairs[f"{d['stage']}/{d['reason']}"] += 1
    for name, c in by_source.items():
        m["sources"][name]["dropped"] = dict(sorted(c.items()))
    for lang, c in by_lang.items():
        m["translation"][lang]["views_dropped"] = dict(sorted(c.items()))
    m["drops"] = {"pairs": dict(sorted(pairs.items())), "views": dict(sorted(views.items()))}


def _tamper(build: Path, fn: Callable[[Path, Manifest], None]) -> None:
    m = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    fn(build, m)
    (build / "manifest.json").write_text(json.dumps(m, indent=2, sort_keys=True), encoding="utf-8")
    write_card(build, m)  # README.md and croissant.json rendered again from the edited manifest


def _pt(m: Manifest) -> Manifest:
    return m["translation"]["pt"]


def _set_filtered(m: Manifest, counts: dict[str, int]) -> None:
    _pt(m)["filtered"] = dict(counts)
    _pt(m)["quality"]["dropped"] = dict(counts)


def _rename_view_drops(build: Path, m: Manifest) -> None:
    """The quality view drops kept, under a reason that is not a quality one."""
    drops = _drops(build)
    for d in drops:
        d["reason"] = d["reason"].replace("quality:", "unexplained:")
    _recount(build, m, drops)


def _rename_one_decontamination_drop(build: Path, m: Manifest) -> None:
    drops = _drops(build)
    first = next(d for d in drops if d["stage"] == "decontaminate")
    first["reason"] = "contaminated:somewhere-else"
    _recount(build, m, drops)


def _ghost_eval_set(build: Path, m: Manifest) -> None:
    m["decontamination"]["source"]["en"]["ghost"] = {"pairs_dropped": 0, "passages_matched": 0,
                                                     "questions_matched": 0, "methods": {}}


def _edit(fn: Callable[[Manifest], object]) -> Callable[[Path, Manifest], None]:
    return lambda build, m: fn(m) and None


CASES: list[tuple[str, Callable[[Path, Manifest], None], str]] = [
    ("first", _edit(lambda m: _pt(m).update(model_calls=0)),
     r"translation.pt.model_calls is 0 for \d+ translated segments \(at least 1"),
    ("first", _edit(lambda m: _pt(m).update(model_calls=_pt(m)["translated"] + 1)),
     r"translation.pt.model_calls is \d+ for \d+ translated segments"),
    ("second", _edit(lambda m: _pt(m).update(model_calls=1)), r"translation.pt.model_calls is 1 with translated 0"),
    ("first", _edit(lambda m: _pt(m).pop("model_calls")), r"translation.pt: missing key 'model_calls'"),
    ("first", _edit(lambda m: _pt(m)["quality"].update(judged=_pt(m)["unique"] - 1)),
     r"translation.pt.quality.judged is \d+, the files say \d+"),
    ("second", _edit(lambda m: _pt(m)["quality"].update(verdicts_cached=_pt(m)["quality"]["judged"] + 1)),
     r"translation.pt.quality.verdicts_cached \d+ > judged \d+"),
    ("first", _edit(lambda m: _pt(m)["filtered"].update({"length ratio": 1})),
     r"translation.pt.filtered is \{.*'length ratio': 1.*\}, the files say"),
    ("first", _edit(lambda m: _set_filtered(m, {})),
     r"translation.pt.views_dropped has \d+ view\(s\) dropped for quality:.*, but translation.pt.filtered has no "
     r"segment filtered for"),
    ("first", _edit(lambda m: _set_filtered(m, {k: _pt(m)["unique"] + 1 for k in _pt(m)["filtered"]})),
     r"translation.pt.filtered: \d+ segments filtered of \d+ unique"),
    ("first", _rename_view_drops,
     r"translation.pt.filtered has \d+ segment\(s\), but no view was dropped for quality"),
    ("first", _edit(lambda m: m["sources"]["demo-squad"].update(license="")), r"sources.demo-squad.license: missing"),
    ("first", _edit(lambda m: m["decontamination"].update(source={})),
     r"decontamination.source.en: the eval sets' pairs_dropped add up to 0, drops.jsonl holds 11 decontamination drops"),
    ("first", _edit(lambda m: m["decontamination"]["source"]["en"]["demo-eval"]["methods"].update(exact=6)),
     r"decontamination.source.en.demo-eval.methods add up to 6, passages_matched \+ questions_matched is 5"),
    ("first", _edit(lambda m: m["decontamination"]["source"]["en"]["demo-eval"].update(
        questions_matched=2, passages_matched=3)),
     r"decontamination.source.en.demo-eval.questions_matched is 2, the files say 3"),
    ("first", _ghost_eval_set, r"decontamination.source.en.ghost: not an eval set of this build"),
    ("first", _rename_one_decontamination_drop,
     r"drops.jsonl: line \d+: a decontamination drop whose reason 'contaminated:somewhere-else' does not name its "
     r"eval set \('demo-eval'\)"),
]


def test_the_demo_builds_verify(demo_build: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    """What the cases below rely on: the first run translated everything, the second nothing;
    the gate filtered at least one segment; both verify; the helpers alone break nothing."""
    for which in ("first", "second"):
        t = json.loads((demo_build[which] / "manifest.json").read_text(encoding="utf-8"))["translation"]["pt"]
        assert t["translated"] == (t["unique"] if which == "first" else 0) and t["quality"]["judged"] == t["unique"]
        assert (t["model_calls"] > 0) == (which == "first") and sum(t["filtered"].values()) >= 1
        assert verify_build(demo_build[which])["rows"] > 0
    build = _copy(demo_build, tmp_path, "first")
    _tamper(build, lambda b, m: _recount(b, m, _drops(b)))  # the helpers themselves change nothing verify sees
    assert verify_build(build)["rows"] > 0


@pytest.mark.parametrize(("which", "tamper", "message"), CASES, ids=[c[2][:48] for c in CASES])
def test_verify_names_the_broken_invariant(demo_build: dict, tmp_path: Path, which: str,  # type: ignore[type-arg]
                                           tamper: Callable[[Path, Manifest], None], message: str) -> None:
    build = _copy(demo_build, tmp_path, which)
    _tamper(build, tamper)
    with pytest.raises(VerifyError, match=message):
        verify_build(build)
