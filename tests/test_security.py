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

    from test_build_flow import plant_pickles

    cache = tmp_path / "cache"
    shutil.copytree(demo_build["cache"], cache)
    marker = tmp_path / "code-ran"
    results = cache / "results"
    keys = plant_pickles(results, marker)  # <key>.pkl and <key> (a Prefect record) for every stored key
    assert {k.split("-")[0] for k in keys} >= {"collect", "segment"}
    _Bomb.marker = str(marker)
    stages = json.loads((demo_build["second"] / "manifest.json").read_text())["stages"]  # this config's keys
    seg = results / f"{stages['segment']['key']}.zip"
    seg.write_bytes(pickle.dumps(_Bomb()))  # a pickle where a result belongs
    col = results / f"{stages['collect']['key']}.zip"
    col.unlink(missing_ok=True)  # only the planted files are left for collect
    cfg = write_config(tmp_path, demo_config_text(tmp_path / "out", cache))
    ex = LocalExecutor(result_store(load_config(cfg)))
    with caplog.at_level(logging.WARNING, logger="mt_aug.pipeline"):
        got = build(cfg, executor=ex)
    assert not marker.exists(), "a planted pickle was unpickled"
    assert json.loads((got / "manifest.json").read_text())["stages"]["segment"]["key"] == stages["segment"]["key"]
    said = "\n".join(r.getMessage() for r in caplog.records)
    assert f"{seg}: not a stage result this mt-aug wrote" in said
    assert f"{col.with_suffix('.pkl')}: ignored (pickled or Prefect-serialized stage results are never loaded" in said
    assert ex.reused == ["eval-index", "decontaminate", "dedup", "dev-split"]  # collect and segment recomputed, not loaded
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
    from mt_aug.decontamination.apply import eval_indexes

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
    (secret / "qa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in [
        {"q": "Which river floods in spring?", "ctx": "The Tallow River floods every spring."},
        {"q": "Where is the mill?"}]), encoding="utf-8")  # line 2: no passage (malformed, counted)
    shutil.copytree(demo_build["cache"], tmp_path / "cache", ignore=shutil.ignore_patterns("results"))
    text = demo_config_text(tmp_path / "out", tmp_path / "cache",
                            result_storage="memory://AKIAKEY:S3CR3T@bucket/mt-aug/results")
    text = text.replace(f"{DEMO_DATA}/demo_squad.json", "../alice/secret-project/demo_squad.json")
    text = text.replace("    license: cc0-1.0\n", "    license: cc0-1.0\n  - {name: mine, format: jsonl, path: "
                        "../alice/secret-project/qa.jsonl, strict: false, fields: {question: q, passage: ctx}, "
                        "license: cc0-1.0}\n", 1)
    (tmp_path / "configs").mkdir()
    cfg = write_config(tmp_path / "configs", text)
    got = build(cfg)
    published = {name: (got / name).read_text(encoding="utf-8") for name in ("manifest.json", "README.md",
                                                                               "croissant.json", "drops.jsonl")}
    for name, body in published.items():
        assert "S3CR3T" not in body and "AKIAKEY" not in body, name
        assert "alice" not in body and "secret-project" not in body, name
    m = json.loads(published["manifest.json"])
    assert m["config"]["result_storage"] == "memory://***@bucket/mt-aug/results"
    assert m["config"]["sources"][0]["path"] == "demo_squad.json"
    assert m["sources"]["demo-squad"]["files"]["path"]["path"] == "demo_squad.json"
    assert m["sources"]["mine"]["first_error"].startswith("qa.jsonl: line 2: ")  # the file, by its name
    assert '"error": "qa.jsonl: line 2: ' in published["drops.jsonl"]
    assert "memory://***@bucket/mt-aug/results" in published["README.md"]
    ex = LocalExecutor(result_store(load_config(cfg)))
    again = build(cfg, executor=ex)
    assert ex.reused == ["eval-index", "collect", "decontaminate", "dedup", "dev-split", "segment"]  # from the URL's store
    for name in ("drops.jsonl", "manifest.json"):  # a reused result's drops are published the same way
        assert "alice" not in (again / name).read_text(encoding="utf-8")


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


# --- what is printed, and what a config, a build folder or a cache may hold ---------------------

from test_build_flow import broken  # noqa: E402,F401 - the fixture: a copy of the demo build to damage
from test_cli_errors import invoke as _cli  # noqa: E402
from test_cli_errors import one_error as _one_error  # noqa: E402

_UNSAFE = ("\x1b", "\x07", "\x9b", "\x9d", "\u202e", "\u2066")


HOSTILE = "\x1b]0;PWNED\x07title \x1b]52;c;Zm9vYmFy\x07clip \x1b[2J\x9b2Jcsi \u202eevil\u202c \x1b]0;open"


def test_inspect_escapes_terminal_controls(broken: Path) -> None:
    drop = {"stage": "quality", "source": "s\x1b[31m", "id": "1", "reason": "quality:planted\x07", "lang": "pt",
            "segment": HOSTILE, "output": "\x9d52;c;Zm9v\x9c out", "evidence": "\x1b]0;x\x07"}
    with open(broken / "drops.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(drop) + "\n")
    r = _cli("inspect", str(broken), "--lang", "pt", "--reason", "planted", "--width", "400")
    assert r.exit_code == 0, r.stderr
    assert not any(c in r.stdout for c in _UNSAFE), repr(r.stdout)
    assert "\\x1b]0;PWNED\\x07title" in r.stdout and "\\u202eevil" in r.stdout and "\\x9d52;c;Zm9v" in r.stdout


def test_inspect_of_damaged_files_is_one_line(broken: Path) -> None:
    drops, manifest = broken / "drops.jsonl", broken / "manifest.json"
    good_drops, good_manifest = drops.read_text(), manifest.read_text()
    n = len(good_drops.splitlines()) + 1  # the line added
    for line, expected in [('["pt", 1]', f"line {n}: not a drop record (a JSON list, not an object)"),
                           ('{"lang": "pt", "segment": 5}', f"line {n}: `segment` is a number, not a string")]:
        drops.write_text(good_drops + line + "\n")
        assert _one_error(_cli("inspect", str(broken), "--lang", "pt")).endswith(f"{drops}: {expected}")
    drops.write_text(good_drops)
    manifest.write_text('["pt"]')
    assert _one_error(_cli("inspect", str(broken), "--lang", "pt")).endswith(
        f"{manifest}: not a build manifest (a JSON list, not an object)")
    m = json.loads(good_manifest)
    m["files"][0]["path"] = "../../escape/part-00000.arrow"
    manifest.write_text(json.dumps(m))
    msg = _one_error(_cli("inspect", str(broken), "--lang", "pt"))
    assert "files[0].path: '../../escape/part-00000.arrow': a path outside the build folder" in msg
    manifest.write_text(good_manifest)
    assert "less than or equal to 10000" in _one_error(_cli("inspect", str(broken), "--lang", "pt",
                                                             "--width", str(10**20)))
    assert "--width" in _one_error(_cli("inspect", str(broken), "--lang", "pt", "--width", "1e20"))
    shard = broken / "mono/pt/part-00000.arrow"
    shard.write_bytes(shard.read_bytes()[:3000])
    msg = _one_error(_cli("inspect", str(broken), "--lang", "pt"))
    assert msg.startswith(f"mt-aug: error: {shard.resolve()}: not a readable shard (") and "?" not in msg


def _config_with(tmp_path: Path, extra: str, name: str = "cfg.yaml") -> Path:
    return write_config(tmp_path, demo_config_text(tmp_path / "out", tmp_path / "cache") + "\n" + extra, name)


def test_yaml_alias_bombs_big_integers_and_bad_roundtrip_models_are_refused_at_load(tmp_path: Path) -> None:
    levels = ['    l0: &l0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    levels += [f"    l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)]
    bomb = _config_with(tmp_path, "quality:\n  roundtrip:\n   models:\n" + "\n".join(levels), "bomb.yaml")
    msg = _one_error(_cli("validate", str(bomb)))
    assert "invalid YAML: aliases stand for more than 10000 nodes (an alias bomb?)" in msg and "line " in msg
    big = write_config(tmp_path, demo_config_text(tmp_path / "out", tmp_path / "cache").replace(
        "seed: 13", "seed: " + "9" * 5000), "big.yaml")
    assert _one_error(_cli("validate", str(big))).endswith("invalid YAML: an integer of 5000 digits (at most 4300)")
    typo = _config_with(tmp_path, "quality:\n  roundtrip:\n    models:\n      pt: {backend: bergamot, beam_sise: 2}",
                        "typo.yaml")
    expected = f"mt-aug: error: {typo}: quality.roundtrip.models.pt.beam_sise: unknown key"
    assert _one_error(_cli("validate", str(typo))) == expected
    (tmp_path / "in.txt").write_text("Hello.\n")
    assert _one_error(_cli("translate", str(tmp_path / "in.txt"), str(tmp_path / "out.txt"),
                           "--config", str(typo))) == expected
    assert _one_error(_cli("build", str(typo), "--executor", "local")) == expected
    bad = _config_with(tmp_path, "quality:\n  roundtrip:\n    models:\n      pt: {beam_size: 0}\n", "bad.yaml")
    assert _one_error(_cli("validate", str(bad))).endswith("quality.roundtrip.models.pt.beam_size: must be >= 1")
    nan = _config_with(tmp_path, "quality: {roundtrip: {min_chrf: .nan}}", "nan.yaml")
    assert _one_error(_cli("validate", str(nan))).endswith(
        "quality.roundtrip.min_chrf: must be a finite number, not nan")
    assert not (tmp_path / "out").exists()


def test_round_trip_min_chrf_nan_is_not_a_number(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("Hello.\n")
    msg = _one_error(_cli("translate", str(tmp_path / "in.txt"), str(tmp_path / "out.txt"), "--round-trip",
                          "--round-trip-min-chrf", "nan"))
    assert "--round-trip-min-chrf: nan is not a number" in msg


def test_cache_stats_opens_read_only_and_refuses_another_database(tmp_path: Path) -> None:
    import hashlib
    import sqlite3

    other = tmp_path / "translations.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE people (name TEXT)")
    before = hashlib.sha256(other.read_bytes()).hexdigest()
    for args in (("cache", "stats"), ("cache", "prune", "--older-than-days", "1")):
        msg = _one_error(_cli(*args, "--cache-dir", str(tmp_path)))
        assert msg == (f"mt-aug: error: {other}: not a translation cache (a SQLite database without a `translations` "
                       "table); nothing was changed in it; point cache_dir elsewhere")
    assert hashlib.sha256(other.read_bytes()).hexdigest() == before
    with sqlite3.connect(f"{other.as_uri()}?mode=ro", uri=True) as db:
        assert [r[0] for r in db.execute("SELECT name FROM sqlite_master")] == ["people"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["translations.sqlite"]


def test_symlinks_in_builds_are_neither_followed_nor_removed(tmp_path: Path) -> None:
    """A symlink in builds/ (to a folder elsewhere) is not a build: pruning neither counts,
    follows nor removes it; a leftover `.staging-*` link goes, the folder it names stays."""
    from mt_aug.release.publish import builds_dir, clean_staging, finalize, prune, switch_current

    elsewhere = tmp_path / "precious"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("mine")
    root = builds_dir(tmp_path / "out")
    for name in ("20260101T000000Z-a", "20260102T000000Z-b", "20260103T000000Z-c"):
        (root / name).mkdir(parents=True)
    (root / "00000000T000000Z-link").symlink_to(elsewhere, target_is_directory=True)
    (root / ".staging-20260104T000000Z-d").symlink_to(elsewhere, target_is_directory=True)
    assert clean_staging(tmp_path / "out") == [str(root / ".staging-20260104T000000Z-d")]
    staging = root / ".staging-x"
    staging.mkdir()
    (root / "20260105T000000Z-e").symlink_to(elsewhere, target_is_directory=True)
    finalize(tmp_path / "out", staging, "20260105T000000Z-e")  # a link where the new build goes: replaced
    switch_current(tmp_path / "out", "20260105T000000Z-e")
    assert prune(tmp_path / "out", keep=1) == ["20260101T000000Z-a", "20260102T000000Z-b", "20260103T000000Z-c"]
    assert (root / "00000000T000000Z-link").is_symlink() and (elsewhere / "keep.txt").read_text() == "mine"
    assert (root / "20260105T000000Z-e").is_dir() and not (root / "20260105T000000Z-e").is_symlink()


# --- hostile text through the translator: no residue, no stall -----------------------------------

def test_translate_leaves_no_escape_residue_and_cuts_long_words(tmp_path: Path) -> None:
    """Real Bergamot translation. Escape sequences are removed whole (nothing of `]0;PWNED` or the
    clipboard payload is translated or written); a 700-character run without spaces is cut into
    pieces of 64 (counted on stderr), not sent whole (seconds instead of a minute per line)."""
    import random
    import string

    random.seed(7)
    token = "".join(random.choice(string.ascii_lowercase) for _ in range(700))
    lines = ["\x1b]0;PWNED\x07The river is long.", "\x1b]52;c;Zm9vYmFy\x07Good morning.",
             "\x9b2J\u202eThe town is small.", f"See {token} here."]
    src = tmp_path / "in.txt"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.txt"
    r = _cli("translate", str(src), str(out), "--cache-dir", str(tmp_path / "cache"))
    assert r.exit_code == 0, r.stderr
    text = out.read_text(encoding="utf-8")
    got = text.splitlines()
    assert len(got) == 4 and all(got[:3]), got
    for residue in ("PWNED", "]0;", "52;", "Zm9v", "2J", *_UNSAFE):
        assert residue not in text and residue not in r.stderr, residue
    assert "1 word(s) longer than 64 characters cut into pieces before translation" in r.stderr


def test_long_words_are_cut_and_counted_by_the_segmenter() -> None:
    from mt_aug.translation.segment import MAX_WORD_CHARS, segment_text, split_sentences

    cut = [0]
    segs = split_sentences("Intro words here. " + "x" * 5000 + " and the end.", cut=cut)
    assert cut == [1] and all(len(s) <= MAX_WORD_CHARS for s in segs[1:-1])
    assert segs[0] == "Intro words here." and segs[-1] == "and the end."
    assert "".join(segs[1:-1]) == "x" * 5000
    assert segment_text("a" * 65, split=False, cut=cut).segments == ("a" * 64, "a") and cut == [2]
    assert segment_text("a" * 64, split=False, cut=cut).segments == ("a" * 64,) and cut == [2]
    zh = "其他艺术家的作品包括" * 20  # 200 characters without a space: a clause, not cut
    assert split_sentences(zh, lang="zh") == [zh]
