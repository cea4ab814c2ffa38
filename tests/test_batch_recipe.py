"""The paper's batch recipe (issue 24): batches of one source sampled by dataset size
(`batching.group_by: [source]`, `source_weights`) in the schedule and in every epoch of the
sampler, on one process and on several; and the bad input around it."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest

from conftest import write_config
from fixtures.source_builds import build_sources, source_config
from mt_aug.config import ConfigError, load_config
from mt_aug.packing.batching import prefix_drift
from mt_aug.release.verify import VerifyError, verify_build
from mt_aug.training import BuildLayoutError, HybridBatchSampler, train_dataset
from training_builds import read_arrow, rewrite

SIZES = {"big": 96, "mid": 32, "small": 12}


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three sources of 96, 32 and 12 pairs packed with group_by: [source] (size weights)."""
    return build_sources(tmp_path_factory.mktemp("three"), SIZES, {"group_by": ["source"]})


def _rows(build: Path) -> dict[str, list]:
    """Columns of every row, in the order of train_dataset (the sampler's row indices)."""
    table = train_dataset(build).data
    return {k: table.column(k).to_pylist() for k in ("batch_id", "source", "query_lang", "passage_lang", "pair_id")}


def test_three_sources_pack_single_source_batches_sampled_by_size(three: Path) -> None:
    m = json.loads((three / "manifest.json").read_text())
    verify_build(three)  # one source per batch is among its rules
    sched = read_arrow(three / "schedule.arrow").to_pydict()
    rows = _rows(three)
    bs = m["batch_size"]
    for f in m["files"]:  # every file (and every batch in it) holds one source, named in its metadata
        table = read_arrow(three / f["path"])
        assert set(table.column("source").to_pylist()) == {f["source"]}
        assert table.schema.metadata == {b"source": f["source"].encode()}
        assert f["path"] == f"{f['kind']}/{f['group']}/part-{f['source']}-00000.arrow"
    starts = {bid: i for i, bid in reversed(list(enumerate(rows["batch_id"])))}
    for bid, src in zip(sched["batch_id"], sched["source"], strict=True):  # the schedule's column is the rows'
        assert set(rows["source"][starts[bid]:starts[bid] + bs]) == {src}
    # each source's share of a kind's batches is its share of the pairs (within one batch), spread out
    pairs = sum(SIZES.values())
    for kind in ("mono", "cross"):
        srcs = [s for k, s in zip(sched["kind"], sched["source"], strict=True) if k == kind]
        got = Counter(srcs)
        for name, n in SIZES.items():
            assert abs(got[name] - len(srcs) * n / pairs) <= 1.5, (kind, got)
            assert m["source_batches"][name][kind] == got[name]
        share = {name: got[name] / len(srcs) for name in SIZES}
        assert prefix_drift(srcs, share) <= 1.0  # every prefix keeps the shares: no source in a block
    # leftovers counted per source: every view is in a batch or a leftover
    for name, n in SIZES.items():
        sb = m["source_batches"][name]
        assert (sb["mono"] + sb["cross"]) * bs + sb["leftover_rows"] == 2 * n  # one mono + one cross view per pair
    card = (three / "README.md").read_text()
    assert "## Batches per source" in card and "sampled by dataset size" in card


@pytest.mark.parametrize("world", [1, 2])
@pytest.mark.parametrize("ratio", [None, 0.25, 0.0, 1.0])  # 0.0 / 1.0: the paper's X-Y and X-X baselines
def test_sampler_keeps_one_source_per_step_and_the_shares_in_every_epoch(three: Path, world: int,
                                                                         ratio: float | None) -> None:
    """Every step one kind and one source, each source at its share of each kind in every epoch
    (under a mono_ratio override too, down to one kind only), no batch twice."""
    from accelerate.data_loader import BatchSamplerShard

    rows = _rows(three)
    sampler = HybridBatchSampler(three, mono_ratio=ratio, world_size=world)
    m = json.loads((three / "manifest.json").read_text())
    share = {k: {name: s["share"][k] for name, s in m["source_batches"].items()} for k in ("mono", "cross")}
    orders = []
    for epoch in range(3):
        sampler.set_epoch(epoch)
        ranks = [list(BatchSamplerShard(sampler, num_processes=world, process_index=i)) for i in range(world)]
        per_kind: dict[str, list[str]] = {"mono": [], "cross": []}
        ids = []
        for step in zip(*ranks, strict=True):
            kinds = {rows["query_lang"][b[0]] == rows["passage_lang"][b[0]] for b in step}
            sources = {s for b in step for s in rows["source"][b[0]:b[-1] + 1]}
            assert len(kinds) == 1 and len(sources) == 1, f"epoch {epoch}: a step of {kinds} kinds, {sources}"
            if world > 1:
                assert not set(rows["pair_id"][step[0][0]:step[0][-1] + 1]) & set(
                    rows["pair_id"][step[1][0]:step[1][-1] + 1])
            per_kind["mono" if kinds.pop() else "cross"].append(sources.pop())
            ids += [rows["batch_id"][b[0]] for b in step]
        assert len(set(ids)) == len(ids)
        if ratio in (0.0, 1.0):  # one kind only: every batch of it (each source's cut to a multiple of world)
            only, other = ("mono", "cross") if ratio == 1.0 else ("cross", "mono")
            assert per_kind[other] == []
            want = sum(s[only] - s[only] % world for s in m["source_batches"].values())
            assert len(per_kind[only]) * world == want
        orders.append(ids)
        for kind, srcs in per_kind.items():
            for name, x in share[kind].items():  # each source at its share of the build's batches
                assert abs(Counter(srcs)[name] - x * len(srcs)) <= 1.5 * world, (epoch, kind, Counter(srcs))
            assert prefix_drift(srcs, share[kind]) <= 2.0 * world
    assert orders[1] != orders[2]  # later epochs are new orders


def test_uniform_weights_and_a_source_too_small_for_a_batch(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    b = build_sources(tmp_path, {"big": 96, "mid": 32, "tiny": 2}, {"group_by": ["source"], "source_weights": "uniform"})
    m = json.loads((b / "manifest.json").read_text())
    verify_build(b)
    sb = m["source_batches"]
    assert sb["big"]["mono"] == sb["mid"]["mono"] and sb["big"]["cross"] == sb["mid"]["cross"]  # equal shares
    assert sb["tiny"]["mono"] == sb["tiny"]["cross"] == 0 and sb["tiny"]["leftover_rows"] == 4  # counted
    assert sb["big"]["leftover_rows"] > 96  # the big source's surplus batches are leftovers, counted
    assert m["counts"]["leftover_rows"] == sum(s["leftover_rows"] for s in sb.values())
    warned = [w for w in m["guard"]["warnings"] if "'tiny'" in w]
    assert len(warned) == 1 and "leftovers" in warned[0]  # in the manifest and the card
    assert warned[0] in (b / "README.md").read_text()
    sched = read_arrow(b / "schedule.arrow").to_pydict()
    assert Counter(sched["source"]) == {"big": sb["big"]["mono"] + sb["big"]["cross"],
                                        "mid": sb["mid"]["mono"] + sb["mid"]["cross"]}


def test_default_builds_mix_sources_as_before(tmp_path: Path) -> None:
    """Without group_by a batch may hold every source, the schedule has no source column and
    the files none: today's layout (the demo's bytes are checked in test_pipeline)."""
    b = build_sources(tmp_path, SIZES)
    m = json.loads((b / "manifest.json").read_text())
    assert "source_batches" not in m and all("source" not in f for f in m["files"])
    assert read_arrow(b / "schedule.arrow").schema.names == ["step", "kind", "group", "file", "batch_index",
                                                            "batch_id"]
    mixed = [f for f in m["files"] if len(set(read_arrow(b / f["path"]).column("source").to_pylist())) > 1]
    assert mixed and HybridBatchSampler(b, world_size=2).batch_ids(1)


def test_a_batch_of_two_sources_fails_verify_and_the_sampler(three: Path, tmp_path: Path) -> None:
    import shutil

    b = tmp_path / "b"
    shutil.copytree(three, b)
    f = next(f for f in json.loads((b / "manifest.json").read_text())["files"] if f["batches"] > 1)
    table = read_arrow(b / f["path"])
    src = table.column("source").to_pylist()
    src[0] = "mid" if src[0] != "mid" else "big"
    rewrite(b, f["path"], table.set_column(table.schema.get_field_index("source"), "source",
                                           pa.array(src)).replace_schema_metadata(table.schema.metadata))
    with pytest.raises(VerifyError, match="one source per batch"):
        verify_build(b)
    with pytest.raises(BuildLayoutError, match=r"batch 0: a row of source .*\(group_by: \[source\]\)"):
        HybridBatchSampler(b)


@pytest.mark.parametrize("batching, expected", [
    ("{group_by: [sorce]}", r"batching\.group_by\[0\]: unknown field 'sorce' \(batches can be grouped by: source\)"),
    ("{group_by: [source], source_weights: {big: 2, mid: 1, small: 1, nq: 3}}",
     r"batching\.source_weights\.nq: not a source of this config \(sources: big, mid, small\)"),
    ("{group_by: [source], source_weights: {big: 2, mid: 0, small: 1}}",
     r"batching\.source_weights\.mid: weight 0 is not a positive number"),
    ("{group_by: [source], source_weights: {big: 2, mid: -1, small: 1}}",
     r"batching\.source_weights\.mid: weight -1 is not a positive number"),
    ("{group_by: [source], source_weights: {big: 2}}", r"batching\.source_weights: no weight for source 'mid'"),
    ("{source_weights: uniform}", r"batching\.source_weights: needs batching\.group_by: \[source\]"),
])
def test_bad_batching_config_is_one_line(tmp_path: Path, batching: str, expected: str) -> None:
    from typer.testing import CliRunner

    from mt_aug.cli import app

    text = source_config(tmp_path, SIZES).read_text(encoding="utf-8").replace("batching:\n  batch_size: 4\n", "")
    cfg = write_config(tmp_path, text + f"batching: {batching}\n", "bad.yaml")
    with pytest.raises(ConfigError, match=expected):
        load_config(cfg)
    got = CliRunner().invoke(app, ["validate", str(cfg)])
    assert got.exit_code == 2
    lines = [x for x in got.output.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("mt-aug: error: ") and "Traceback" not in got.output


def test_hard_negatives_on_sources_without_any_is_a_warning(tmp_path: Path) -> None:
    from mt_aug.pipeline.plan import plan

    cfg = load_config(source_config(tmp_path, {"a": 4}, hard_negatives={"translate": 2}))  # not an error
    report = plan(cfg)
    assert any(w.startswith("hard_negatives.translate is 2, but no pair has hard negatives") for w in report["warnings"])
    assert "hard_negatives" not in report


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_views_by_source_fill_whole_batches(seed: int) -> None:
    """group_by: [source]: each source's views fill the languages and pairs in whole batches, the
    questions of one passage on different ones, so packing leaves less than a batch per source and
    kind (sources mixed, each of the 12 groups may leave part of one)."""
    import numpy as np

    from mt_aug.packing.batching import pack
    from mt_aug.packing.views import assign_views

    langs = ["en", "pt", "de", "fr"]
    sizes = {"a": 500, "b": 130, "c": 37}
    codes = np.concatenate([np.full(n, i) for i, n in enumerate(sizes.values())])
    passages = np.concatenate([np.arange(n) // 3 + 1000 * i for i, n in enumerate(sizes.values())])  # 3 per passage
    available = np.ones((len(codes), len(langs)), bool)
    views, stats = assign_views(available, langs, mono_per_pair=1, cross_per_pair=1, seed=seed,
                                sources=(codes, list(sizes)), batch_size=8, passages=passages)
    assert sum(stats.mono.values()) == sum(stats.cross.values()) == len(codes) and not stats.short
    mono = np.array([stats.mono[x] for x in langs])
    assert mono.max() - mono.min() <= 8 * len(sizes)  # balanced in whole batches
    packed = pack(views, passages, 8, seed, sources=(codes, list(sizes)))
    counts = packed.source_counts()
    for name, n in sizes.items():
        assert counts[name]["leftover_rows"] < 2 * 8, (name, counts[name])  # under one batch per kind
        assert counts[name]["leftover_rows"] == 2 * n - 8 * (counts[name]["mono"] + counts[name]["cross"])


def test_a_schedule_blocked_by_source_fails_verify(three: Path, tmp_path: Path) -> None:
    import shutil

    b = tmp_path / "b"
    shutil.copytree(three, b)
    table = read_arrow(b / "schedule.arrow")
    d = table.to_pydict()
    mono = [i for i, k in enumerate(d["kind"]) if k == "mono"]
    blocked = sorted(mono, key=lambda i: (d["source"][i], i))  # every mono batch of one source, then the next
    for col in ("group", "file", "batch_index", "batch_id", "source"):
        values = list(d[col])
        for dst, src in zip(mono, blocked, strict=True):
            values[dst] = d[col][src]
        d[col] = values
    rewrite(b, "schedule.arrow", pa.table(d, schema=table.schema))
    with pytest.raises(VerifyError, match="mono batches: a source runs .* blocked, not interleaved by source"):
        verify_build(b)
