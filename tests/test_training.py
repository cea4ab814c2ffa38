"""The trainer side (issue 11): train_dataset + HybridBatchSampler on the real demo build and on
synthetic builds of many groups, through accelerate's real BatchSamplerShard (N = 1, 2, 3,
even_batches on and off), the real SentenceTransformerTrainer (epochs, checkpoint, resume),
and `datasets.load_dataset` through `current` after a rebuild."""

from __future__ import annotations

import importlib.util
import json
import os
import pickle
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from mt_aug.packing.batching import Batch, hybrid_order
from mt_aug.packing.shards import ShardFile, write_schedule, write_stream
from mt_aug.schema import SHARD_SCHEMA
from mt_aug.training import BuildLayoutError, HybridBatchSampler, train_dataset
from training_builds import build_demo, demo, demo_env, rewrite, short_build  # noqa: F401  (fixtures)


# -- builds ---------------------------------------------------------------------------------

LANGS = ["en", "pt", "de", "fr"]


def synth_build(root: Path, mono: dict[str, int], cross: dict[str, int], *, batch_size: int = 4,
                mono_ratio: float = 0.5, pool: int | None = None, seed: int = 0) -> Path:
    """A build written directly: one shard per group with the given number of batches, the
    schedule the packer would write (hybrid_order), a minimal manifest. Pair ids are drawn
    per group from one pool per kind, so a pair appears in several groups of a kind (as with
    several views per pair); `pool` small -> many conflicts between batches."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    files: list[ShardFile] = []
    batches: dict[tuple[str, str], list[Batch]] = {}
    for kind, groups in (("mono", mono), ("cross", cross)):
        need = max(groups.values(), default=0) * batch_size
        size = max(need, pool or 0)
        offset = 0
        for group, n in sorted(groups.items()):
            if n == 0:
                continue
            if pool is None:  # every group its own pairs
                pairs = offset + rng.permutation(n * batch_size)
                offset += n * batch_size
            else:
                pairs = rng.permutation(size)[: n * batch_size]
            ql, pl = (group, group) if kind == "mono" else group.split("-")
            rows = n * batch_size
            table = pa.table({
                "batch_id": [f"{kind}-{group}-{i // batch_size:06d}" for i in range(rows)],
                "query": [f"q{p} {ql}" for p in pairs], "query_lang": [ql] * rows,
                "passage": [f"p{p} {pl}" for p in pairs], "passage_title": ["t"] * rows,
                "passage_lang": [pl] * rows, "pair_id": [f"s:{p}" for p in pairs],
                "passage_id": [f"h{p}" for p in pairs], "source": ["s"] * rows,
            }, schema=SHARD_SCHEMA)
            rel = f"{kind}/{group}/part-00000.arrow"
            digest = write_stream(root / rel, table, batch_size)
            bs = [Batch(kind, group, i, np.arange(batch_size)) for i in range(n)]
            batches[(kind, group)] = bs
            files.append(ShardFile(rel, kind, group, rows, n, digest, tuple(b.batch_id for b in bs)))
    write_schedule(root, hybrid_order(batches, mono_ratio), files)
    manifest = {"batch_size": batch_size, "mono_ratio": mono_ratio, "seed": seed,
                "files": [f.to_dict() for f in files]}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def _schedule_ids(build: Path) -> list[str]:
    with pa.memory_map(str(build / "schedule.arrow")) as src:
        return pa.ipc.open_stream(src).read_all().column("batch_id").to_pylist()


def _rows(build: Path) -> dict[str, list]:
    """Columns of every row of the build, in train_dataset order, read with pyarrow."""
    m = json.loads((build / "manifest.json").read_text())
    tables = []
    for f in m["files"]:
        with pa.memory_map(str(build / f["path"])) as src:
            tables.append(pa.ipc.open_stream(src).read_all().select(["batch_id", "pair_id", "query_lang",
                                                                      "passage_lang"]))
    return pa.concat_tables(tables).to_pydict()


def _check_epoch(sampler: HybridBatchSampler, rows: dict[str, list], world: int, even: bool) -> list[list[str]]:
    """Shard the epoch with accelerate's BatchSamplerShard; check every step; return the batch
    ids per step."""
    from accelerate.data_loader import BatchSamplerShard

    ranks = [list(BatchSamplerShard(sampler, num_processes=world, process_index=i, even_batches=even))
             for i in range(world)]
    assert len({len(r) for r in ranks}) == 1, "ranks got different numbers of batches"
    assert len(ranks[0]) * world == len(sampler)
    bs = sampler.batch_size
    steps, seen = [], set()
    for step in zip(*ranks, strict=True):
        ids, kinds, pairs = [], set(), []
        for batch in step:
            assert len(batch) == bs and batch == list(range(batch[0], batch[0] + bs))  # one whole packed batch
            bid = {rows["batch_id"][i] for i in batch}
            assert len(bid) == 1
            ids.append(bid.pop())
            kinds.add(rows["query_lang"][batch[0]] == rows["passage_lang"][batch[0]])
            pairs.append({rows["pair_id"][i] for i in batch})
        assert len(kinds) == 1, f"a step mixes mono and cross: {ids}"
        for a in range(world):
            for b in range(a + 1, world):
                assert not pairs[a] & pairs[b], f"pair on two ranks in one step: {ids}"
        assert not seen & set(ids), "a batch repeated within an epoch"
        seen |= set(ids)
        steps.append(ids)
    return steps


# -- the demo build ----------------------------------------------------------------------------

def test_epoch_zero_is_the_schedule_and_rows_are_whole_batches(demo: Path) -> None:
    ds = train_dataset(demo)
    m = json.loads((demo / "manifest.json").read_text())
    assert len(ds) == m["counts"]["rows"]
    assert {"batch_id", "query", "passage", "query_lang", "passage_lang", "pair_id"} <= set(ds.column_names)
    # memory-mapped shards, no copy: through links outside the build (map caches land beside them)
    assert all(os.path.realpath(c["filename"]).startswith(str(demo)) and not c["filename"].startswith(str(demo))
               for c in ds.cache_files)
    s = HybridBatchSampler(demo)
    got = [ds[idx]["batch_id"] for idx in s]
    assert all(len(set(b)) == 1 and len(b) == m["batch_size"] for b in got)
    assert [b[0] for b in got] == _schedule_ids(demo)
    assert s.batch_ids(0) == _schedule_ids(demo)


def test_later_epochs_reorder_at_the_same_ratio_deterministically(demo: Path) -> None:
    s = HybridBatchSampler(demo)
    e0, e1, e2 = s.batch_ids(0), s.batch_ids(1), s.batch_ids(2)
    assert sorted(e1) == sorted(e0) == sorted(e2) and e1 != e0 and e2 != e1
    assert e1 == HybridBatchSampler(demo).batch_ids(1)  # (seed, epoch) decide it
    assert HybridBatchSampler(demo, seed=99).batch_ids(1) != e1
    for ids in (e1, e2):  # the build's ratio is 0.5: mono and cross alternate
        kinds = [i.split("-")[0] for i in ids]
        assert kinds == ["mono", "cross"] * (len(ids) // 2)
        mono = [i.split("-")[1] for i in ids if i.startswith("mono")]
        assert all(a != b for a, b in zip(mono[::2], mono[1::2], strict=False))  # two languages take turns


def test_plain_pytorch_dataloader_and_pickling(demo: Path) -> None:
    from torch.utils.data import DataLoader

    s = HybridBatchSampler(demo)
    s.set_epoch(1)
    dl = DataLoader(train_dataset(demo).select_columns(["query", "passage", "batch_id"]), batch_sampler=s,
                    collate_fn=lambda rows: rows)
    ids = [{r["batch_id"] for r in batch} for batch in dl]
    assert all(len(b) == 1 for b in ids) and [b.pop() for b in ids] == s.batch_ids(1)
    clone = pickle.loads(pickle.dumps(s))
    assert clone.epoch == 1 and clone.batch_ids() == s.batch_ids()
    assert len(pickle.dumps(s)) < 1000  # the arguments, not the arrays


@pytest.mark.parametrize("world", [2, 3])
@pytest.mark.parametrize("even", [True, False])
def test_demo_sharded_over_processes(demo: Path, world: int, even: bool) -> None:
    rows = _rows(demo)
    s = HybridBatchSampler(demo, world_size=world)
    total = len(s.layout.batch_id)
    for epoch in (0, 1):
        s.set_epoch(epoch)
        steps = _check_epoch(s, rows, world, even)
        assert len(steps) * world + s.dropped == total


def test_world_size_from_the_environment(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORLD_SIZE", "3")
    s = HybridBatchSampler(demo)
    assert s.world_size == 3 and len(s) % 3 == 0
    monkeypatch.delenv("WORLD_SIZE")
    assert s.world_size == 1 and s.batch_ids() == _schedule_ids(demo)


def test_another_mono_ratio_from_the_same_batches(demo: Path) -> None:
    full = HybridBatchSampler(demo)
    for r in (0.25, 0.75):
        s = HybridBatchSampler(demo, mono_ratio=r)
        for epoch in (0, 1):
            ids = s.batch_ids(epoch)
            assert len(set(ids)) == len(ids) < len(full)
            assert set(ids) <= set(full.batch_ids())
            mono = sum(i.startswith("mono") for i in ids)
            assert abs(mono - r * len(ids)) <= 1  # the share holds within one batch (integer counts)
            assert len(s) + s.dropped == len(full)
    assert HybridBatchSampler(demo, mono_ratio=0.5).batch_ids() == full.batch_ids()  # the build's own ratio


def test_the_three_trainings_from_one_build(demo: Path) -> None:
    """The paper's X-Y only (0.0), X-X only (1.0) and hybrid (0.5, the build's) from one build:
    each uses every batch of its kinds, on one process and on two, each epoch a new order."""
    full = HybridBatchSampler(demo)
    all_ids = set(full.batch_ids())
    by_kind = {k: {i for i in all_ids if i.startswith(k)} for k in ("mono", "cross")}
    assert by_kind["mono"] and by_kind["cross"]
    rows = _rows(demo)
    for r, kinds in ((0.0, {"cross"}), (1, {"mono"}), (0.5, {"mono", "cross"})):
        for world in (1, 2):
            s = HybridBatchSampler(demo, mono_ratio=r, world_size=world)
            orders = []
            for epoch in (0, 1, 2):
                s.set_epoch(epoch)
                ids = s.batch_ids()
                want = set().union(*(by_kind[k] for k in kinds))
                assert {i.split("-")[0] for i in ids} == kinds
                assert len(ids) == len(set(ids)) and set(ids) <= want
                assert len(want) - len(ids) < world * len(kinds)  # all of them, up to the multiple-of-N cut
                assert len(s) + s.dropped == len(full)
                if world == 2:
                    _check_epoch(s, rows, 2, True)  # one kind per step on both ranks, no pair twice
                orders.append(ids)
            assert orders[0] != orders[1] != orders[2]  # reshuffled every epoch
            if world == 1 and r == 0.5:
                assert orders[0] == _schedule_ids(demo)


def test_bad_input(demo: Path, tmp_path: Path) -> None:
    for r in (1.5, -0.2, True, "0.5"):
        with pytest.raises(BuildLayoutError, match=rf"mono_ratio={r!r}: must be a number from 0 to 1"):
            HybridBatchSampler(demo, mono_ratio=r)  # type: ignore[arg-type]
    b = tmp_path / "b"
    shutil.copytree(demo, b)
    (b / "schedule.arrow").unlink()
    with pytest.raises(BuildLayoutError, match=r"b/schedule\.arrow: missing"):
        HybridBatchSampler(b)
    with pytest.raises(BuildLayoutError, match=r"manifest\.json: missing"):
        HybridBatchSampler(tmp_path)
    with pytest.raises(BuildLayoutError, match=r"nowhere: not a directory"):
        train_dataset(tmp_path / "nowhere")
    with pa.memory_map(str(demo / "schedule.arrow")) as src:
        sched = pa.ipc.open_stream(src).read_all()
    for col, value, message in (("file", "mono/xx/part-00000.arrow", r"file 'mono/xx/part-00000\.arrow' is missing"),
                                ("batch_index", 99, r"batch_index 99 is out of range for mono/\w+/part-00000\.arrow")):
        i = sched.schema.get_field_index(col)
        first_mono = sched.column("kind").to_pylist().index("mono")
        vals = sched.column(col).to_pylist()
        vals[first_mono] = value
        rewrite(b, "schedule.arrow", sched.set_column(i, sched.schema.field(col), pa.array(vals, sched.schema.field(col).type)))
        with pytest.raises(BuildLayoutError, match=rf"schedule\.arrow: step {first_mono}: {message}"):
            HybridBatchSampler(b)
    only_cross = synth_build(tmp_path / "cross-only", {}, {"en-pt": 3, "pt-en": 3}, mono_ratio=0.0)
    assert len(HybridBatchSampler(only_cross)) == 6
    with pytest.raises(BuildLayoutError, match=r"mono_ratio=0\.5: .*cross-only has no mono batches"):
        HybridBatchSampler(only_cross, mono_ratio=0.5)
    with pytest.raises(BuildLayoutError, match=r"mono_ratio=1\.0: .*cross-only has no mono batches to draw"):
        HybridBatchSampler(only_cross, mono_ratio=1.0)
    assert len(HybridBatchSampler(only_cross, mono_ratio=0.0)) == 6  # the build's own mix
    only_mono = synth_build(tmp_path / "mono-only", {"en": 2, "pt": 2}, {}, mono_ratio=1.0)
    with pytest.raises(BuildLayoutError, match=r"mono_ratio=0\.0: .*mono-only has no cross batches"):
        HybridBatchSampler(only_mono, mono_ratio=0.0)
    with pytest.raises(BuildLayoutError, match=r"mono_ratio=0\.0: .* too few for one cross batch per step of 3"):
        HybridBatchSampler(synth_build(tmp_path / "few", {"en": 3}, {"en-pt": 2}), mono_ratio=0.0, world_size=3)
    s = HybridBatchSampler(demo)
    with pytest.raises(BuildLayoutError, match=r"train_dataset has 3 rows"):
        s(list(range(3)), batch_size=4)
    with pytest.raises(BuildLayoutError, match=r"per_device_train_batch_size=8: the build's batches have 4 rows"):
        s(train_dataset(demo), batch_size=8)


# -- synthetic builds: many groups, many batches ------------------------------------------------

@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_mono=st.integers(1, 4), n_cross=st.integers(1, 4), counts=st.lists(st.integers(0, 9), min_size=8, max_size=8),
    ratio=st.sampled_from([0.25, 0.5, 0.6, 0.75]), world=st.sampled_from([1, 2, 3]), even=st.booleans(),
    epoch=st.integers(0, 3), pool=st.sampled_from([None, 40]), sweep=st.sampled_from([None, 0.0, 0.3, 0.7, 1.0]),
    seed=st.integers(0, 2**16),
)
def test_sampler_properties(n_mono: int, n_cross: int, counts: list[int], ratio: float, world: int, even: bool,
                            epoch: int, pool: int | None, sweep: float | None, seed: int) -> None:
    mono = {LANGS[i]: counts[i] + 1 for i in range(n_mono)}
    pairs = ["en-pt", "pt-en", "en-de", "de-fr"]
    cross = {pairs[i]: counts[4 + i] + 1 for i in range(n_cross)}
    with tempfile.TemporaryDirectory() as tmp:
        b = synth_build(Path(tmp) / "b", mono, cross, mono_ratio=ratio, pool=pool, seed=seed)
        try:
            s = HybridBatchSampler(b, world_size=world, mono_ratio=sweep)
        except BuildLayoutError as exc:  # a mix the build cannot serve: only for a sweep on a tiny build
            assert sweep is not None and "too few" in str(exc)
            return
        s.set_epoch(epoch)
        rows = _rows(b)
        steps = _check_epoch(s, rows, world, even)
        n_sched = len(_schedule_ids(b))
        assert len(steps) * world + s.dropped == n_sched
        if world == 1 and epoch == 0 and sweep is None:
            assert [i for st_ in steps for i in st_] == _schedule_ids(b)
        target = ratio if sweep is None else sweep
        kinds = [st_[0].startswith("mono") for st_ in steps]
        plan = s.plan()
        if pool is None:  # no pair in two groups: nothing but the multiple-of-N surplus is left out
            m_all = sum(mono.values())
            c_all = sum(cross.values())
            if sweep is None:
                assert s.dropped == m_all % world + c_all % world
            assert plan.mono_steps == sum(kinds) * world
        # interleaved: while both kinds last, the mono share of every prefix is within one step of the target
        last_both = min(max((i for i, k in enumerate(kinds) if k), default=-1),
                        max((i for i, k in enumerate(kinds) if not k), default=-1))
        for p in range(1, last_both + 1):
            assert abs(sum(kinds[:p]) - target * p) <= 1 + 1e-9, (p, kinds)
        if world == 1 and epoch > 0:  # languages spread out within each kind
            for is_mono in (True, False):
                seq = [st_[0].split("-", 1)[1].rsplit("-", 1)[0] for st_, k in zip(steps, kinds, strict=True)
                       if k == is_mono]
                for g in set(seq):
                    n_g = seq.count(g)
                    for p in range(1, len(seq) + 1):
                        assert abs(seq[:p].count(g) - p * n_g / len(seq)) <= 2, (g, seq)


def test_sampler_on_a_large_synthetic_build(tmp_path: Path) -> None:
    """Many batches, three processes: every batch once per epoch, each epoch a new order."""
    b = synth_build(tmp_path / "b", {"en": 40, "pt": 35, "de": 30}, {"en-pt": 50, "pt-en": 45, "en-de": 20},
                    mono_ratio=0.5, pool=400, seed=3)
    rows = _rows(b)
    s = HybridBatchSampler(b, world_size=3)
    orders = []
    for epoch in range(3):
        s.set_epoch(epoch)
        steps = _check_epoch(s, rows, 3, True)
        orders.append([i for st_ in steps for i in st_])
        assert s.dropped <= 4
    assert orders[0] != orders[1] != orders[2]


# -- datasets.load_dataset through `current` ------------------------------------------------------

def test_load_dataset_through_current_is_fresh_after_a_rebuild(demo_env: dict[str, Path], tmp_path: Path) -> None:
    """The README's own call, after each of two builds (seeds 13, 14) into one output_dir."""
    import datasets

    demo = demo_env["build"]
    out = tmp_path / "out"
    (out / "builds").mkdir(parents=True)
    shutil.copytree(demo, out / "builds" / demo.name)
    (out / "current").symlink_to(f"builds/{demo.name}")

    def shard(build: Path, rel: str) -> list[str]:
        with pa.memory_map(str(build / rel)) as src:
            return pa.ipc.open_stream(src).read_all().column("pair_id").to_pylist()

    first = datasets.load_dataset(str(out / "current"), "mono-pt", split="train")["pair_id"]
    assert first == shard(demo, "mono/pt/part-00000.arrow")
    second = build_demo(tmp_path, out, demo_env["cache"], seed=14)
    assert (out / "current").resolve() == second
    assert shard(second, "mono/pt/part-00000.arrow") != first  # another seed, another packing
    for name, rel in (("mono-pt", "mono/pt/part-00000.arrow"), ("cross-en-pt", "cross/en-pt/part-00000.arrow")):
        got = datasets.load_dataset(str(out / "current"), name, split="train")["pair_id"]
        assert got == shard(second, rel), f"{name}: stale rows through current"
    got = datasets.load_dataset("arrow", data_files=str(out / "current/mono/pt/*.arrow"), split="train")["pair_id"]
    assert got == shard(second, "mono/pt/part-00000.arrow")
    card = (second / "README.md").read_text()
    assert str(tmp_path) not in card and "/builds/" not in card


# -- the real trainer: epochs, checkpoint, resume (the example) --------------------------------

def _example():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("train_st_example", ROOT / "examples/train_sentence_transformers.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["train_st_example"] = mod
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


class _Recorder:
    """Wraps the trainer's data collator: records the batch id of every batch the trainer
    collates (the query and passage of its first row name the batch)."""

    def __init__(self, inner, ids: dict[tuple[str, str], str]) -> None:  # type: ignore[no-untyped-def]
        self.inner, self.ids, self.seen = inner, ids, []

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.inner, name)

    def __call__(self, features):  # type: ignore[no-untyped-def]
        self.seen.append(self.ids[(features[0]["query"], features[0]["passage"])])
        return self.inner(features)


def test_example_trains_two_epochs_checkpoints_and_resumes(demo: Path, tmp_path: Path, one_thread: None) -> None:
    import warnings

    example = _example()
    b = short_build(demo, tmp_path / "short", 3)  # epochs of 3 steps: mono, cross, mono
    ds = train_dataset(b)
    ids = {(q, p): bid for q, p, bid in zip(ds["query"], ds["passage"], ds["batch_id"], strict=True)}
    sampler = HybridBatchSampler(b, seed=4)  # a seed whose epoch 1 differs on these three batches (not all do)
    e0, e1 = sampler.batch_ids(0), sampler.batch_ids(1)
    assert e0 != e1 and sorted(e0) == sorted(e1)

    lareqa = str(Path(__file__).resolve().parent / "fixtures" / "eval" / "lareqa" / "{lang}.json")

    def trainer(out: Path, eval_paths: str | None = None):  # type: ignore[no-untyped-def]
        t = example.build_trainer(b, out, epochs=2, save_steps=4, seed=4, max_seq_length=24, warmup=0.25,
                                  eval_paths=eval_paths)
        t.data_collator = _Recorder(t.data_collator, ids)
        return t

    out = tmp_path / "run"
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        warnings.simplefilter("error", FutureWarning)
        t = trainer(out, lareqa)  # with the LAReQA evaluator after each epoch
        result = t.train()
    assert result.global_step == 6
    evals = [h for h in t.state.log_history if any(k.endswith("map_multilingual") for k in h)]
    assert len(evals) == 2  # the paper's metric logged once per epoch
    # DataLoaderShard fetches one batch ahead; the batches trained on are the first 3 of each epoch
    seen = t.data_collator.seen
    assert seen[:3] == e0 and seen[3:6] == e1  # set_epoch reached the sampler through trainer and accelerate
    lrs = [h["learning_rate"] for h in t.state.log_history if "learning_rate" in h]
    assert lrs[1] > lrs[0] and lrs[-1] < max(lrs)  # warmup, then linear decay
    assert (out / "checkpoint-4").is_dir()

    t2 = trainer(out)  # a new trainer, restarted from the checkpoint at step 4 (in epoch 1)
    t2.train(resume_from_checkpoint=str(out / "checkpoint-4"))
    assert t2.state.global_step == 6
    assert t2.data_collator.seen[:2] == seen[4:6] == e1[1:3]  # the same batches the first run saw after step 4
