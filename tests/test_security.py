"""What a cache, a config or a build's files can do to the process that reads them: no code
(no pickles), no secrets published, no local paths published, nothing raw on a terminal."""

from __future__ import annotations

import io
import json
import logging
import math
import pickle
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from conftest import DEMO_DATA, demo_config_text, write_config
from mt_aug.pipeline.stage import StageResult
from mt_aug.schema import Drop


def _shards(build: Path) -> list[tuple[str, str]]:
    m = json.loads((build / "manifest.json").read_text())
    return [(f["path"], f["sha256"]) for f in m["files"]] + [("schedule", m["schedule"]["sha256"])]


class _Bomb:
    """Unpickling it creates the file MARKER names (set per test)."""

    marker = ""

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (open, (type(self).marker, "w"))


# --- cached stage results: data, never pickles ------------------------------------------------

def test_planted_pickles_in_the_result_store_are_never_loaded(tmp_path: Path, demo_build: dict,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    """`<key>.pkl` (what the store read before) and a pickle written over a `<key>.zip` are never
    unpickled: the build says which files it ignored, recomputes those stages and gives the
    demo's shards byte for byte."""
    from mt_aug.pipeline import build
    from mt_aug.pipeline.builder import result_store
    from mt_aug.config import load_config
    from mt_aug.pipeline.executor import LocalExecutor

    cache = tmp_path / "cache"
    shutil.copytree(demo_build["cache"], cache)
    _Bomb.marker = str(tmp_path / "code-ran")
    results = cache / "results"
    zips = sorted(results.glob("*.zip"))
    assert {p.name.split("-")[0] for p in zips} >= {"collect", "segment"}
    for p in zips:
        (results / (p.name.removesuffix(".zip") + ".pkl")).write_bytes(pickle.dumps(_Bomb()))
    seg = next(p for p in zips if p.name.startswith("segment-"))
    seg.write_bytes(pickle.dumps(_Bomb()))  # a pickle where a result belongs
    col = next(p for p in zips if p.name.startswith("collect-"))
    col.unlink()  # only the planted .pkl is left for collect
    cfg = write_config(tmp_path, demo_config_text(tmp_path / "out", cache))
    ex = LocalExecutor(result_store(load_config(cfg)))
    with caplog.at_level(logging.WARNING, logger="mt_aug.pipeline"):
        got = build(cfg, executor=ex)
    assert not Path(_Bomb.marker).exists(), "a planted pickle was unpickled"
    said = "\n".join(r.getMessage() for r in caplog.records)
    assert f"{seg}: not a stage result this mt-aug wrote" in said
    assert f"{col.with_suffix('.pkl')}: ignored (pickled or Prefect-serialized stage results are never loaded" in said
    assert ex.reused == ["eval-index", "decontaminate", "dedup"]  # collect and segment recomputed, not loaded
    assert _shards(got) == _shards(demo_build["first"])


def test_result_codec_round_trips_exactly_and_refuses_other_types() -> None:
    from mt_aug.pipeline.results import UnreadableResult, read_result, write_result
    from mt_aug.translation.texts import Segmented

    seg = Segmented([("a b.",), ("c.", "d.")], [("T",)], [("P one.", "P two.")],
                    np.array([0, 0], dtype=np.int64), np.array([0, 0], dtype=np.int64))
    dict_col = pa.array(["x", "y", "x"]).dictionary_encode()
    table = pa.Table.from_batches([pa.record_batch([dict_col], names=["t"]),
                                   pa.record_batch([pa.array(["z"]).dictionary_encode()], names=["t"])])
    result = StageResult({"pairs": table, "segmented": seg, "unique": ["a", "b"]},
                         {"n": 3, "by": {1: (2, 3.5)}, "nan": math.inf, "big": 10**30},
                         (Drop("collect", "s", "1", "duplicate", detail={"score": 0.1 + 0.2}),), ("careful",))
    buf = io.BytesIO()
    write_result(buf, result)
    got = read_result(io.BytesIO(buf.getvalue()))
    assert got.stats == result.stats and type(next(iter(got.stats["by"]))) is int
    assert isinstance(got.stats["by"][1], tuple) and got.drops == result.drops and got.warnings == ("careful",)
    assert got["pairs"].equals(table) and got["pairs"].column("t").num_chunks == 2
    assert got["unique"] == ["a", "b"] and got["segmented"].questions == seg.questions
    assert got["segmented"].passages == seg.passages and got["segmented"].title_codes.tolist() == [0, 0]
    with pytest.raises(TypeError, match="cannot store a object"):
        write_result(io.BytesIO(), StageResult({"x": object()}))
    header = json.loads(zipfile.ZipFile(io.BytesIO(buf.getvalue())).read("result.json"))
    header["outputs"] = {"t": "pickle", "v": "gASVAAAAAA=="}
    forged = io.BytesIO()
    with zipfile.ZipFile(forged, "w") as zf:
        zf.writestr("result.json", json.dumps(header))
    with pytest.raises(UnreadableResult, match="unknown value type 'pickle'"):
        read_result(io.BytesIO(forged.getvalue()))
    with pytest.raises(UnreadableResult):
        read_result(io.BytesIO(pickle.dumps(_Bomb())))


def test_eval_index_round_trips_as_data(demo_build: dict) -> None:
    """The eval-index stage's result (the one object with private arrays) matches as the
    original does after a round trip through the codec."""
    from mt_aug.config import load_config
    from mt_aug.decontamination.matcher import EvalIndex
    from mt_aug.pipeline.stages import eval_indexes

    cfg = load_config(demo_build["config"])
    idx = eval_indexes(cfg)[0]["en"]
    meta, tables = idx.to_state()
    back = EvalIndex.from_state(meta, tables)
    texts = [t for es in json.loads((DEMO_DATA / "demo_eval_en.json").read_text())["data"]
             for p in es["paragraphs"] for t in [p["context"]] + [q["question"] for q in p["qas"]]]
    texts += ["What is the capital of nowhere?", texts[0][:400] + " and then something else entirely."]
    for field in ("passage", "question"):
        assert back.match_many(texts, field) == idx.match_many(texts, field)
    assert back.stats() == idx.stats()
    bad = dict(tables, grams=tables["grams"].set_column(1, "pos", pa.array([10**9] * tables["grams"].num_rows)))
    with pytest.raises(ValueError, match="position out of range"):
        EvalIndex.from_state(meta, bad)


# --- secrets and local paths are never published ----------------------------------------------

def test_credentials_and_outside_paths_are_not_published(tmp_path: Path, demo_build: dict) -> None:
    """`result_storage: memory://KEY:SECRET@bucket/...` (an fsspec URL, as s3:// would be) and a
    source kept outside the config's folder (`../alice/secret-project/...`): the manifest, the
    card and croissant.json hold neither the credentials nor the folder, and the stage results
    live in (and are reused from) that URL's store."""
    from mt_aug.config import load_config
    from mt_aug.pipeline import build
    from mt_aug.pipeline.builder import result_store
    from mt_aug.pipeline.executor import LocalExecutor

    secret = tmp_path / "alice" / "secret-project"
    secret.mkdir(parents=True)
    shutil.copy(DEMO_DATA / "demo_squad.json", secret / "demo_squad.json")
    shutil.copytree(demo_build["cache"], tmp_path / "cache", ignore=shutil.ignore_patterns("results"))
    text = demo_config_text(tmp_path / "out", tmp_path / "cache",
                            result_storage="memory://AKIAKEY:S3CR3T@bucket/mt-aug/results")
    text = text.replace(f"{DEMO_DATA}/demo_squad.json", "../alice/secret-project/demo_squad.json")
    (tmp_path / "configs").mkdir()
    cfg = write_config(tmp_path / "configs", text)
    got = build(cfg)
    published = {name: (got / name).read_text(encoding="utf-8") for name in ("manifest.json", "README.md",
                                                                               "croissant.json")}
    for name, body in published.items():
        assert "S3CR3T" not in body and "AKIAKEY" not in body, name
        assert "alice" not in body and "secret-project" not in body, name
    m = json.loads(published["manifest.json"])
    assert m["config"]["result_storage"] == "memory://***@bucket/mt-aug/results"
    assert m["config"]["sources"][0]["path"] == "demo_squad.json"
    assert m["sources"]["demo-squad"]["files"]["path"]["path"] == "demo_squad.json"
    assert "memory://***@bucket/mt-aug/results" in published["README.md"]
    ex = LocalExecutor(result_store(load_config(cfg)))
    build(cfg, executor=ex)
    assert ex.reused == ["eval-index", "collect", "decontaminate", "dedup", "segment"]  # from the URL's store


def test_log_records_have_url_credentials_redacted() -> None:
    from mt_aug.redact import install_log_redaction, redact_text

    install_log_redaction()
    install_log_redaction()  # idempotent
    seen: list[logging.LogRecord] = []
    h = logging.Handler()
    h.emit = seen.append  # type: ignore[method-assign]
    log = logging.getLogger("prefect.test-redaction")  # any logger: the record factory redacts
    log.addHandler(h)
    log.setLevel(logging.INFO)
    try:
        log.info("PREFECT_API_URL=%s", "http://admin:hunter2@prefect.internal:4200/api")
        log.warning("stage results in %s", "s3://KEY:SECRET@bucket/x?X-Amz-Signature=abc123&part=1")
    finally:
        log.removeHandler(h)
    said = [r.getMessage() for r in seen]
    assert said == ["PREFECT_API_URL=http://***@prefect.internal:4200/api",
                    "stage results in s3://***@bucket/x?X-Amz-Signature=***&part=1"]
    assert redact_text("no url: a@b, x=1") == "no url: a@b, x=1"
    assert redact_text("s3://bucket/plain/path") == "s3://bucket/plain/path"


# --- `mt-aug serve`: a served deployment builds its config, nothing else ------------------------

def test_a_served_deployment_refuses_other_configs_and_output_dirs(prefect_harness, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Any local process can POST `create_flow_run` to the API. With the parameters of another
    config and output folder: the server refuses (the served flow has no parameters); a caller
    that turns the server's schema check off gets a flow run that Prefect's engine runs and
    fails before anything is built; and `build_corpus` (what a deployment re-pointed at
    flows/build_corpus.py through the API would run) refuses in a serving process too."""
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.exceptions import PrefectHTTPStatusError
    from prefect.flow_engine import run_flow

    from conftest import DEMO_CONFIG
    from flows.build_corpus import SERVED_ENV, NotServed, build_corpus, served_build, served_target
    from flows.deploy import deployment_for

    monkeypatch.setenv(SERVED_ENV, "")  # restored (unset) after the test; deployment_for sets it
    dep = deployment_for(DEMO_CONFIG, "0 3 * * *", name="served-refuses", served=True)
    assert served_target() == {"config_path": str(DEMO_CONFIG.resolve()), "output_dir": None}
    dep_id = dep.apply()
    evil_out = tmp_path / "evil-out"
    evil = {"config_path": str(write_config(tmp_path, demo_config_text(evil_out, tmp_path / "evil-cache"))),
            "output_dir": str(evil_out)}

    async def create():  # type: ignore[no-untyped-def]
        async with get_client() as client:
            with pytest.raises(PrefectHTTPStatusError, match="409"):
                await client.create_flow_run_from_deployment(dep_id, parameters=evil)
            r = await client._client.post(f"/deployments/{dep_id}/create_flow_run",
                                          json={"parameters": evil, "enforce_parameter_schema": False})
            r.raise_for_status()
            return await client.read_flow_run(r.json()["id"])

    flow_run = asyncio.run(create())
    assert flow_run.parameters == evil
    state = run_flow(served_build, flow_run=flow_run, parameters=flow_run.parameters, return_type="state")
    assert state.is_failed() and "config_path" in str(state.message), state.message
    with pytest.raises(NotServed, match=r"refused: this server builds .*demo\.yaml .* a run asked for config_path="):
        build_corpus(evil["config_path"], evil["output_dir"])
    assert not evil_out.exists()
