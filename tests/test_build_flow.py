"""The demo build end to end (the library pipeline; once through Prefect), read back the way a
trainer reads it."""

from __future__ import annotations

import json
import logging
import pickle
import shutil
from pathlib import Path

import datasets
import pyarrow as pa
import pytest

from mt_aug.release.verify import VerifyError, check_batch, verify_build

CONTAMINATED = {f"demo-q{i:03d}" for i in [9, 10, 11, 12, 41, 42, 43, 44, 21, 33, 53]}


def _manifest(build: Path) -> dict:
    return json.loads((build / "manifest.json").read_text())


def test_layout_and_current(demo_build: dict) -> None:
    out, second = demo_build["out"], demo_build["second"]
    assert (out / "current").is_symlink()
    assert (out / "current").resolve() == second.resolve()
    for rel in ["manifest.json", "README.md", "schedule.arrow", "mono/en/part-00000.arrow",
                "mono/pt/part-00000.arrow", "cross/en-pt/part-00000.arrow", "cross/pt-en/part-00000.arrow"]:
        assert (second / rel).is_file(), rel
    assert not list((out / "builds").glob(".staging-*"))
    assert not list(second.rglob("*.tmp"))


def test_shards_read_back_with_datasets_and_hold_the_invariants(demo_build: dict) -> None:
    build = demo_build["second"]
    m = _manifest(build)
    bs = m["batch_size"]
    pair_ids_seen: set[str] = set()
    for f in m["files"]:
        ds = datasets.Dataset.from_file(str(build / f["path"]))
        assert ds.num_rows == f["rows"] and ds.num_rows % bs == 0
        assert ds.column_names[:9] == ["batch_id", "query", "query_lang", "passage", "passage_title",
                                       "passage_lang", "pair_id", "passage_id", "source"]
        rows = ds.to_dict()
        for start in range(0, ds.num_rows, bs):
            chunk = {k: v[start:start + bs] for k, v in rows.items()}
            check_batch(chunk, f["kind"], bs, f"{f['path']} rows {start}")
        pair_ids_seen |= set(rows["pair_id"])
    assert not {p.split(":", 1)[1] for p in pair_ids_seen} & CONTAMINATED
    assert m["counts"]["input_pairs"] == 64 and m["counts"]["kept_pairs"] == 53


def test_portuguese_is_real_and_long_passages_whole(demo_build: dict) -> None:
    build = demo_build["second"]
    ds = datasets.Dataset.from_file(str(build / "mono/pt/part-00000.arrow"))
    src = json.loads((Path(__file__).parent.parent / "examples/data/demo_squad.json").read_text())
    contexts = {p["context"] for a in src["data"] for p in a["paragraphs"]}
    for row in ds:
        assert row["query_lang"] == row["passage_lang"] == "pt"
        assert row["passage"] not in contexts  # translated, not copied
        assert any(w in row["passage"].split() for w in ("de", "que", "o", "a", "é", "um", "uma"))
    # long passages come back whole: about as many sentences as the English
    words = [len(r["passage"].split()) for r in ds]
    assert max(words) >= 150


def test_load_dataset_through_card_configs(demo_build: dict) -> None:
    build = demo_build["second"]
    ds = datasets.load_dataset(str(build), "mono-pt", split="train")
    m = _manifest(build)
    assert ds.num_rows == m["batches"]["mono"]["pt"] * m["batch_size"]
    ds2 = datasets.load_dataset("arrow", data_files=str(build / "cross/en-pt/*.arrow"), split="train")
    assert set(ds2["query_lang"]) == {"en"} and set(ds2["passage_lang"]) == {"pt"}


def test_rebuild_is_byte_identical_and_translates_nothing(demo_build: dict) -> None:
    a, b = _manifest(demo_build["first"]), _manifest(demo_build["second"])
    assert [(f["path"], f["sha256"]) for f in a["files"]] == [(f["path"], f["sha256"]) for f in b["files"]]
    assert a["schedule"]["sha256"] == b["schedule"]["sha256"]
    assert a["translation"]["pt"]["translated"] > 100
    assert b["translation"]["pt"]["translated"] == 0 and b["translation"]["pt"]["model_calls"] == 0
    assert b["translation"]["pt"]["cached"] == a["translation"]["pt"]["unique"]


def test_card_front_matter_and_counts(demo_build: dict) -> None:
    import yaml

    build = demo_build["second"]
    text = (build / "README.md").read_text()
    fm = yaml.safe_load(text.split("---")[1])
    assert fm["language"] == ["en", "pt"]
    assert "machine-generated" in fm["language_creators"] and fm["task_categories"] == ["text-retrieval"]
    assert {c["config_name"] for c in fm["configs"]} == {"mono-en", "mono-pt", "cross-en-pt", "cross-pt-en"}
    m = _manifest(build)
    assert f"{m['counts']['rows']} rows in {m['counts']['batches']} batches" in text
    assert "contaminated:demo-eval: 11" in text
    assert m["flow_run_id"] is None and m["build_id"] in text  # a library build: no Prefect run


def test_read_batches_follows_schedule(demo_build: dict) -> None:
    import mt_aug

    build = demo_build["second"]
    batches = list(mt_aug.read_batches(build))
    m = _manifest(build)
    assert len(batches) == m["counts"]["batches"]
    kinds = ["mono" if rb.column("query_lang")[0] == rb.column("passage_lang")[0] else "cross" for rb in batches]
    assert kinds[:4] == ["mono", "cross", "mono", "cross"]
    assert all(rb.num_rows == m["batch_size"] for rb in batches)
    assert len(list(mt_aug.read_batches(build, kind="cross", as_dicts=True))) == kinds.count("cross")


@pytest.fixture()
def broken(demo_build: dict, tmp_path: Path) -> Path:
    dst = tmp_path / "b"
    shutil.copytree(demo_build["second"], dst)
    return dst


def test_verify_passes(demo_build: dict) -> None:
    assert verify_build(demo_build["out"] / "current")["batches"] == _manifest(demo_build["second"])["counts"]["batches"]


def test_verify_catches_flipped_byte(broken: Path) -> None:
    f = broken / "mono/pt/part-00000.arrow"
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0x01
    f.write_bytes(bytes(data))
    with pytest.raises(VerifyError, match=r"mono/pt/part-00000\.arrow: sha256 .* != manifest"):
        verify_build(broken)


def test_verify_catches_truncated_file_with_fixed_manifest(broken: Path) -> None:
    from mt_aug.core.files import sha256_file

    f = broken / "cross/en-pt/part-00000.arrow"
    f.write_bytes(f.read_bytes()[:-700])
    m = _manifest(broken)
    for e in m["files"]:
        if e["path"] == "cross/en-pt/part-00000.arrow":
            e["sha256"] = sha256_file(f)
    (broken / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(VerifyError, match=r"cross/en-pt/part-00000\.arrow: "):
        verify_build(broken)


def test_verify_catches_invariant_break(broken: Path) -> None:
    """A shard rewritten with a duplicated pair in one batch, checksums updated to match."""
    from mt_aug.core.files import sha256_file
    from mt_aug.packing.shards import write_stream

    f = broken / "mono/en/part-00000.arrow"
    with pa.OSFile(str(f), "rb") as src:
        rbs = list(pa.ipc.open_stream(src))
    first = rbs[0].to_pydict()
    first["pair_id"][1] = first["pair_id"][0]
    rbs[0] = pa.record_batch(first, schema=rbs[0].schema)
    write_stream(f, pa.Table.from_batches(rbs), len(first["pair_id"]))
    m = _manifest(broken)
    for e in m["files"]:
        if e["path"] == "mono/en/part-00000.arrow":
            e["sha256"] = sha256_file(f)
    (broken / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(VerifyError, match=r"mono/en/part-00000\.arrow: batch 0 \(mono-en-000000\): repeated pair_id"):
        verify_build(broken)


def test_verify_catches_missing_file_and_edited_manifest(broken: Path) -> None:
    (broken / "cross/pt-en/part-00000.arrow").unlink()
    with pytest.raises(VerifyError, match=r"cross/pt-en/part-00000\.arrow: listed in manifest.json but missing"):
        verify_build(broken)


def test_failed_build_leaves_current_alone(demo_build: dict, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import mt_aug.packing.assemble as assemble
    from mt_aug.pipeline.builder import build

    out = tmp_path / "out"
    shutil.copytree(demo_build["out"], out, symlinks=True)
    before = (out / "current").resolve()
    real = assemble.write_shards

    def explode(*args, **kwargs):  # type: ignore[no-untyped-def]
        real(*args, **kwargs)
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(assemble, "write_shards", explode)
    with pytest.raises(OSError, match="simulated"):
        build(demo_build["config"], output_dir=out, cache_dir=demo_build["cache"])
    assert (out / "current").resolve() == before
    assert verify_build(out / "current")["rows"] > 0
    assert not list((out / "builds").glob(".staging-*"))


def test_verify_catches_an_edited_manifest(broken: Path) -> None:
    m = _manifest(broken)
    m["files"][0]["batches"] += 1
    (broken / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(VerifyError, match=rf"{m['files'][0]['path']}: holds \d+ rows in \d+ batches, manifest says"):
        verify_build(broken)
    m["files"][0]["batches"] -= 1
    m["counts"]["rows"] += 4
    (broken / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(VerifyError, match=r"manifest.json: counts.rows"):
        verify_build(broken)


def test_verify_catches_a_schedule_off_the_ratio(broken: Path) -> None:
    m = _manifest(broken)
    m["mono_ratio"] = 0.9
    (broken / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(VerifyError, match=r"schedule.arrow: \d+ of \d+ batches are mono, mono_ratio 0.9"):
        verify_build(broken)


STAGES = ("eval-index", "collect", "decontaminate", "dedup", "dev-split", "segment", "translate", "quality-pt",
          "dev", "pack", "write")


def plant_pickles(results: Path, marker: Path) -> list[str]:
    """For every stage key stored under `results`: a pickle that creates `marker` when loaded, as
    `<key>.pkl` (the old local store's file) and as a Prefect result record `<key>` (what Prefect's
    cache policy on that key reads: cloudpickle). Returns the keys."""
    from prefect.results import ResultRecord, ResultRecordMetadata
    from prefect.serializers import PickleSerializer

    class Bomb:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (open, (str(marker), "w"))

    keys = sorted({p.name.split(".")[0] for p in results.iterdir() if not p.name.startswith(".")})
    for key in keys:
        (results / f"{key}.pkl").write_bytes(pickle.dumps(Bomb()))
        record = ResultRecord(result=Bomb(), metadata=ResultRecordMetadata(storage_key=str(results / key),
                                                                             serializer=PickleSerializer()))
        (results / key).write_bytes(record.serialize())
    return keys


def test_prefect_flow_builds_the_same_shards_and_publishes_artifacts(prefect_harness, demo_build: dict,
                                                                    tmp_path: Path) -> None:
    """The Prefect path end to end, once: every stage a task of its name, the translation units
    (3 segments left out of the cache) tasks submitted from inside the `translate` task; the
    flow gives the library's shards byte for byte and publishes the card's tables. Then a
    guard failure in a task: its reason reaches the caller, and is not also logged by every
    Prefect run it passed through (`mt-aug build` runs its flow so and prints it once).

    Pickles planted in the result storage (as Prefect result records under each stage key, and
    as `<key>.pkl`) are never unpickled: Prefect persists and reads nothing, and the stages'
    store reads only its own data files (one removed: recomputed, the plants said ignored)."""
    import asyncio
    import sqlite3

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowRunFilter, FlowRunFilterId

    from prefect import flow, task

    from flows.build_corpus import RUN_LOGGERS, build_corpus, user_errors_once
    from mt_aug.release.guard import GuardFailed

    cache = tmp_path / "cache"
    shutil.copytree(demo_build["cache"], cache)
    with sqlite3.connect(cache / "translations.sqlite") as db:
        db.execute("DELETE FROM translations WHERE rowid IN (SELECT rowid FROM translations WHERE src = 'en' "
                   "AND tgt = 'pt' ORDER BY rowid LIMIT 3)")
    marker = tmp_path / "code-ran"
    keys = plant_pickles(cache / "results", marker)
    assert any(k.startswith("collect-") for k in keys)
    collect_key = _manifest(demo_build["second"])["stages"]["collect"]["key"]  # the key this build looks up
    (cache / "results" / f"{collect_key}.zip").unlink(missing_ok=True)  # a miss: the store finds only the plants
    said_by_store: list[logging.LogRecord] = []
    store_log = logging.Handler(logging.WARNING)
    store_log.emit = said_by_store.append  # type: ignore[method-assign]
    logging.getLogger("mt_aug.pipeline").addHandler(store_log)
    try:
        flow_build = Path(build_corpus(str(demo_build["config"]), str(tmp_path / "out"), str(cache)))
    finally:
        logging.getLogger("mt_aug.pipeline").removeHandler(store_log)
    assert not marker.exists(), "a planted pickle was unpickled"
    assert any("ignored (pickled or Prefect-serialized stage results are never loaded" in r.getMessage()
               for r in said_by_store)
    lib = demo_build["second"]
    for f in _manifest(lib)["files"]:
        assert (flow_build / f["path"]).read_bytes() == (lib / f["path"]).read_bytes(), f["path"]
    assert (flow_build / "schedule.arrow").read_bytes() == (lib / "schedule.arrow").read_bytes()
    m = _manifest(flow_build)
    assert m["flow_run_id"] and m["translation"]["pt"]["translated"] == 3
    assert sorted(m["stages"], key=lambda name: m["stages"][name]["order"]) == list(STAGES)
    verify_build(flow_build)

    async def read(key: str):  # type: ignore[no-untyped-def]
        async with get_client() as client:
            return await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))

    async def task_runs(flow_run_id: str):  # type: ignore[no-untyped-def]
        async with get_client() as client:
            return await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))

    runs = sorted(asyncio.run(task_runs(m["flow_run_id"])), key=lambda tr: tr.start_time)
    stage_runs = [tr for tr in runs if tr.name.rsplit("-", 1)[0] in STAGES]
    assert [tr.name.rsplit("-", 1)[0] for tr in stage_runs] == list(STAGES)
    assert all(tr.state.is_completed() for tr in runs)
    translate = next(tr for tr in stage_runs if tr.name.startswith("translate-"))
    unit = next(tr for tr in runs if tr.name == "translate-unit-0")  # 3 segments: one unit
    assert [p.id for p in unit.task_inputs["__parents__"]] == [translate.id]

    card = asyncio.run(read("demo-card"))
    assert card and card[0].type == "markdown" and "## Sources" in str(card[0].data)
    tables = asyncio.run(read("demo-translation"))
    assert tables and tables[0].type == "table" and "pt" in str(tables[0].data)
    assert str(m["translation"]["pt"]["unique"]) in str(tables[0].data)

    @task(name="write")
    def refuse() -> None:
        raise GuardFailed(["source 'mine': 5 of 5 records (100%) are malformed"])

    @flow(name="refused")
    def refused() -> None:
        refuse()

    records: list[logging.LogRecord] = []
    seen = logging.Handler()
    seen.emit = records.append  # type: ignore[method-assign]
    for name in RUN_LOGGERS:  # what every handler of Prefect's runs gets
        logging.getLogger(name).addHandler(seen)
    try:
        with user_errors_once(), pytest.raises(GuardFailed, match="source 'mine': 5 of 5 records") as err:
            refused()
    finally:
        for name in RUN_LOGGERS:
            logging.getLogger(name).removeHandler(seen)
    said = [r.getMessage() for r in records]
    assert any(s.startswith("Beginning flow run") for s in said)  # the runs' records were seen
    assert not [s for s in said if str(err.value)[:40] in s], said
    failed = [r for r in records if r.getMessage() == "Finished in state Failed (GuardFailed, raised to the caller)"]
    assert sorted(getattr(r, "task_run_name", "flow").rsplit("-", 1)[0] for r in failed) == ["flow", "write"]
