"""Opening a build checks what its manifest promises and writes nothing into it (issue 20,
items 1, 3, 5 and 9, the reading side): the hostile cases of the issue, each on a copy of the
real demo build, through every API that opens a build (train_dataset, HybridBatchSampler,
read_batches), with the sha256 check on (`verify="full"`, the default) and off ("fast")."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

from mt_aug.packing.shards import write_stream
from mt_aug.release.verify import verify_build
from mt_aug.schema import SCHEDULE_SCHEMA, SHARD_SCHEMA
from mt_aug.training import BuildLayoutError, HybridBatchSampler, read_batches, train_dataset
from training_builds import b, demo, demo_env, read_arrow, rewrite, tree  # noqa: F401  (fixtures)

MODES = ("full", "fast")


def _manifest(build: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((build / "manifest.json").read_text(encoding="utf-8"))


def _save(build: Path, m: dict) -> None:  # type: ignore[type-arg]
    (build / "manifest.json").write_text(json.dumps(m), encoding="utf-8")


def _batches(build: Path) -> int:
    """The build's number of batches, by its manifest (the demo's size follows the quality gate)."""
    return sum(int(f["batches"]) for f in _manifest(build)["files"])


def _opens(build: Path, verify: str) -> list[Callable[[], object]]:
    """Every way a trainer opens a build."""
    return [lambda: train_dataset(build, verify=verify), lambda: HybridBatchSampler(build, verify=verify),
            lambda: next(iter(read_batches(build, verify=verify)))]


# -- item 1: map / filter caches never land in the build; the card names exact files ----------

def test_map_filter_and_friends_never_write_into_the_build(b: Path, tmp_path: Path) -> None:
    before = tree(b)
    ds = train_dataset(b)
    done = [ds.map(lambda r: {"n": len(r["query"])}), ds.filter(lambda r: r["query_lang"] == "pt"),
            ds.shuffle(seed=1).map(lambda r: {"m": 1}), ds.select_columns(["query"]).map(lambda r: {"k": 1}),
            ds.sort("pair_id"), ds.train_test_split(0.5, seed=1)["train"].flatten_indices(),
            ds.map(lambda r: {"n": 1}).filter(lambda r: True)]
    assert len(done[1]) == ds["query_lang"].count("pt") and done[0]["n"][0] == len(ds[0]["query"])
    for d in done:  # every file of every derived dataset is outside the build (the shards: through links)
        assert d.cache_files and not any(c["filename"].startswith(str(b)) for c in d.cache_files)
    ds.cleanup_cache_files()  # datasets' own clean-up, in the dataset's folder: not the build's files
    assert tree(b) == before  # byte for byte, no file added
    assert verify_build(b)["rows"] == len(ds)
    own = train_dataset(b, cache_dir=tmp_path / "mine")  # a folder of the caller's choosing
    assert own.map(lambda r: {"n": 1}).cache_files[0]["filename"].startswith(str(tmp_path / "mine"))
    with pytest.raises(BuildLayoutError, match=r"cache_dir=.*: inside the build"):
        train_dataset(b, cache_dir=b / "caches")
    assert tree(b) == before


def test_the_documented_loads_read_only_the_shards_with_a_stray_file_present(b: Path) -> None:
    import datasets

    from conftest import ROOT

    shard = read_arrow(b / "cross/en-pt/part-00000.arrow").column("pair_id").to_pylist()
    shutil.copy(b / "mono/en/part-00000.arrow", b / "cross/en-pt/cache-0123456789abcdef.arrow")  # a stray map cache
    got = datasets.load_dataset(str(b), "cross-en-pt", split="train")["pair_id"]
    assert got == shard  # the card's configs name the files, not a glob
    got = datasets.load_dataset("arrow", data_files=str(b / "cross/en-pt/part-*.arrow"), split="train")["pair_id"]
    assert got == shard
    assert 'data_files="out/demo/current/cross/en-pt/part-*.arrow"' in (ROOT / "README.md").read_text()


# -- item 3: what opening checks, against the cases -------------------------------------

def _swap_mono(build: Path) -> None:
    rewrite(build, "mono/en/part-00000.arrow", read_arrow(build / "mono/pt/part-00000.arrow"))


def _dup_pair(build: Path) -> None:
    t = read_arrow(build / "cross/en-pt/part-00000.arrow")
    rows = t.to_pylist()
    rows[1] = {**rows[0], "batch_id": rows[1]["batch_id"]}
    rewrite(build, "cross/en-pt/part-00000.arrow", pa.Table.from_pylist(rows, schema=t.schema))


def _query_null(build: Path) -> None:
    t = read_arrow(build / "cross/en-pt/part-00000.arrow")
    schema = pa.schema([f.with_nullable(True) for f in SHARD_SCHEMA])  # another schema: query may be null
    rows = t.to_pylist()
    rows[2]["query"] = None
    rewrite(build, "cross/en-pt/part-00000.arrow", pa.Table.from_pylist(rows, schema=schema))


def _schedule(build: Path, fn: Callable[[dict], None], manifest: bool) -> None:  # type: ignore[type-arg]
    d = read_arrow(build / "schedule.arrow").to_pydict()
    fn(d)
    rewrite(build, "schedule.arrow", pa.table(d, schema=SCHEDULE_SCHEMA), manifest=manifest)


def _flip(d: dict) -> None:  # type: ignore[type-arg]
    d["kind"] = ["cross" if k == "mono" else "mono" for k in d["kind"]]


def _permute(d: dict) -> None:  # type: ignore[type-arg]
    for k in ("kind", "group", "file", "batch_index", "batch_id"):
        d[k] = d[k][1:] + d[k][:1]


def _cut(d: dict) -> None:  # type: ignore[type-arg]
    for k in d:
        d[k] = d[k][:5]


def _permute_in_shard(build: Path) -> None:  # batches 1 and 2 of a file swapped (its first and last kept)
    t = read_arrow(build / "mono/pt/part-00000.arrow")
    rewrite(build, "mono/pt/part-00000.arrow", pa.concat_tables([t.slice(0, 4), t.slice(8, 4), t.slice(4, 4),
                                                                 t.slice(12)]))


def _truncate(build: Path) -> None:
    p = build / "cross/en-pt/part-00000.arrow"
    p.write_bytes(p.read_bytes()[:5000])


E = r"{b}/"  # every message names the file, under the build folder
CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    # the cases; edits that also update the manifest test the checks behind the checksums
    "mono shards of two languages swapped": (_swap_mono, r"mono/en/part-00000\.arrow: batch 0: query_lang 'pt', "
                                                         r"the file is under mono/en"),
    "a duplicate pair in a batch": (_dup_pair, r"cross/en-pt/part-00000\.arrow: batch 0 \(cross-en-pt-000000\): "
                                               r"the same pair_id twice"),
    "a shard of another schema, query null": (_query_null, r"cross/en-pt/part-00000\.arrow: column 'query' has 1 "
                                                           r"null value"),
    "schedule kinds flipped": (lambda bb: _schedule(bb, _flip, False),
                               r"schedule\.arrow: sha256 \w+\.\.\. is not manifest\.json's"),
    "schedule kinds flipped, manifest to match": (lambda bb: _schedule(bb, _flip, True),
                                                  r"schedule\.arrow: step 0: cross en, but mono/en/part-00000\.arrow "
                                                  r"holds mono en batches"),
    "batches permuted": (lambda bb: _schedule(bb, _permute, False), r"schedule\.arrow: sha256 .* is not manifest"),
    "batches permuted in a shard, manifest to match": (_permute_in_shard, r"schedule\.arrow: step \d+: batch_id "
                                                                          r"mono-pt-00000[12], but batch [12] of "
                                                                          r"mono/pt/part-00000\.arrow is "
                                                                          r"mono-pt-00000[12]$"),
    "schedule cut to 5 steps": (lambda bb: _schedule(bb, _cut, False),
                                r"schedule\.arrow: holds 5 steps, manifest\.json says \d+"),
    "schedule cut to 5 steps, manifest to match": (lambda bb: _schedule(bb, _cut, True),
                                                   r"schedule\.arrow: 5 steps, the shards hold \d+ batches "
                                                         r"\(\S+ is never scheduled\)"),
    "a truncated shard": (_truncate, r"cross/en-pt/part-00000\.arrow: 5000 bytes, manifest\.json says \d+ "
                                     r"\(truncated or replaced\)"),
}


@pytest.mark.parametrize("verify", MODES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_opening_refuses_a_broken_build_naming_the_file(b: Path, case: str, verify: str) -> None:
    edit, message = CASES[case]
    edit(b)
    for open_build in _opens(b, verify):
        with pytest.raises(BuildLayoutError, match=f"^{b}/{message}") as exc:
            open_build()
        assert "\n" not in str(exc.value)


def test_a_shard_from_another_packing_is_refused(b: Path) -> None:
    """The same rows regrouped into other batches (what another seed's packing gives), batch
    ids, schema and languages kept."""
    rel = "mono/pt/part-00000.arrow"
    t = read_arrow(b / rel)
    write_stream(b / rel, t.take(pa.array(list(range(t.num_rows))[::-1])).set_column(0, "batch_id", t.column(0)))
    for verify in MODES:
        for open_build in _opens(b, verify):
            with pytest.raises(BuildLayoutError, match=rf"^{b}/{rel}: (\d+ bytes, manifest\.json says \d+|sha256 .* is "
                                                       r"not manifest\.json's)"):
                open_build()


def _edit_in_place(path: Path) -> None:
    """A word of a text changed, the file's size and modification time kept."""
    st = path.stat()
    data = bytearray(path.read_bytes())
    i = data.rfind(b"Qual")
    data[i:i + 4] = b"QUAL"
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_only_the_sha256_sees_an_edit_of_the_same_size(b: Path) -> None:
    """What the opt-out gives up: `verify="fast"` trusts the bytes of a file of the right size
    whose small columns check out."""
    _edit_in_place(b / "mono/pt/part-00000.arrow")
    for open_build in _opens(b, "full"):
        with pytest.raises(BuildLayoutError, match=rf"^{b}/mono/pt/part-00000\.arrow: sha256 \w+\.\.\. is not "
                                                   r"manifest\.json's \w+\.\.\. \(changed since the build was published\)$"):
            open_build()
    assert len(HybridBatchSampler(b, verify="fast")) == _batches(b)


def test_a_truncated_shard_of_an_old_manifest_names_the_file(b: Path) -> None:
    m = _manifest(b)
    for f in m["files"]:  # manifests before format 4 record no sizes
        del f["bytes"]
    _save(b, m)
    _truncate(b)
    for verify in MODES:
        with pytest.raises(BuildLayoutError, match=rf"^{b}/cross/en-pt/part-00000\.arrow: "
                                                   + ("sha256" if verify == "full" else
                                                      r"not a readable Arrow IPC stream \(truncated or corrupt")):
            train_dataset(b, verify=verify)


def test_a_change_after_a_first_open_is_seen_by_the_next(b: Path) -> None:
    """Opened twice in one process (train_dataset, then the sampler), the second open reuses
    the first's checks only while no file changed: an edit that keeps size and mtime is seen."""
    train_dataset(b)
    _edit_in_place(b / "mono/pt/part-00000.arrow")
    with pytest.raises(BuildLayoutError, match=r"mono/pt/part-00000\.arrow: sha256"):
        HybridBatchSampler(b)


def test_old_formats_still_open(b: Path) -> None:
    want = [rb.to_pydict() for rb in read_batches(b)]
    m = _manifest(b)
    m["format_version"] = 3
    for f in [*m["files"], m["schedule"]]:
        del f["bytes"]
    _save(b, m)
    assert [rb.to_pydict() for rb in read_batches(b)] == want
    for f in m["files"]:  # format 2: one Arrow record batch per training batch
        write_stream(b / f["path"], read_arrow(b / f["path"]), m["batch_size"])
        f["sha256"] = hashlib.sha256((b / f["path"]).read_bytes()).hexdigest()
    m["format_version"] = 2
    _save(b, m)
    assert read_arrow(b / m["files"][0]["path"]).column(0).num_chunks == m["files"][0]["batches"]
    assert [rb.to_pydict() for rb in read_batches(b)] == want
    ds, s = train_dataset(b), HybridBatchSampler(b)
    assert [ds[i]["batch_id"][0] for i in s] == [w["batch_id"][0] for w in want]


def test_the_verify_argument(b: Path) -> None:
    for open_build in (lambda: train_dataset(b, verify="none"), lambda: HybridBatchSampler(b, verify=False),
                       lambda: list(read_batches(b, verify="sha256"))):
        with pytest.raises(BuildLayoutError, match=r"verify=.*: must be 'full' .* or 'fast'"):
            open_build()
    with pytest.raises(BuildLayoutError, match=r"kind='both': must be 'mono', 'cross' or None"):
        next(read_batches(b, "both"))  # type: ignore[arg-type]


# -- item 5: every seed the config accepts, and those of older builds ------------------------------

def test_the_sampler_takes_any_integer_seed(b: Path) -> None:
    m = _manifest(b)
    m["seed"] = -5  # a build made before negative seeds were refused
    _save(b, m)
    s = HybridBatchSampler(b)
    s.set_epoch(1)
    assert len(s.batch_ids()) == _batches(b) and s.batch_ids() != s.batch_ids(0)
    assert HybridBatchSampler(b, seed=2**63 - 1).batch_ids(1) != s.batch_ids(1)
    with pytest.raises(BuildLayoutError, match=r"seed='7': must be an integer"):
        HybridBatchSampler(b, seed="7")  # type: ignore[arg-type]


# -- item 9 and the messages: paths and manifests a hostile build holds ----------------------------

def test_a_manifest_path_out_of_the_build_is_refused(b: Path, tmp_path: Path) -> None:
    escape = tmp_path / "escape"
    escape.mkdir()
    shutil.copy(b / "mono/en/part-00000.arrow", escape / "x.arrow")
    m = _manifest(b)
    m["files"][0]["path"] = "../escape/x.arrow"
    _save(b, m)
    for verify in MODES:
        for open_build in _opens(b, verify):
            with pytest.raises(BuildLayoutError, match=r"manifest\.json: files\[0\]\.path: '\.\./escape/x\.arrow': a "
                                                       r"path outside the build folder \(absolute or with '\.\.'\)$"):
                open_build()
    m["files"][0]["path"] = "/etc/passwd"
    _save(b, m)
    with pytest.raises(BuildLayoutError, match=r"'/etc/passwd': a path outside the build folder"):
        train_dataset(b)


def test_a_symbolic_link_out_of_the_build_is_refused(b: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.arrow"
    shutil.move(b / "mono/en/part-00000.arrow", outside)
    (b / "mono/en/part-00000.arrow").symlink_to(outside)
    for open_build in _opens(b, "full"):
        with pytest.raises(BuildLayoutError, match=rf"files\[2\]\.path: mono/en/part-00000\.arrow: a symbolic link "
                                                   rf"out of the build folder \(to {outside}\)"):
            open_build()
    (b / "mono/en/part-00000.arrow").unlink()
    shutil.move(b / "mono", tmp_path / "mono")  # a linked folder on the way
    (b / "mono").symlink_to(tmp_path / "mono")
    with pytest.raises(BuildLayoutError, match=r"files\[2\]\.path: mono/en/part-00000\.arrow: a symbolic link out"):
        train_dataset(b)


@pytest.mark.parametrize(("content", "message"), [
    (b'{"batch_size": 4, "name": "caf\xe9"}', r"manifest\.json: not UTF-8 \(byte offset 30\)"),
    (b'"a string"', r"manifest\.json: not a JSON object \(a str at the top level\)"),
    (b'[1, 2]', r"manifest\.json: not a JSON object \(a list at the top level\)"),
    (b'{"batch_size": 4, "mono_ratio": 0.5, "files": [], "decontamination": []}',
     r"manifest\.json: decontamination: should be an object"),
    (b'{"batch_size": 4, "mono_ratio": 0.5, "files": [{"path": 3}]}', r"manifest\.json: files\[0\]\.path: should be a string"),
    (b'{"batch_size": "4", "mono_ratio": 0.5, "files": []}', r"manifest\.json: batch_size: should be an integer"),
    (b"[" * 100_000, r"manifest\.json: invalid JSON"),
], ids=["not UTF-8", "a string", "a list", "decontamination a list", "a path not a string", "batch_size a string",
        "nested 100k deep"])
def test_a_malformed_manifest_is_one_line(b: Path, content: bytes, message: str) -> None:
    (b / "manifest.json").write_bytes(content)
    for open_build in _opens(b, "fast"):
        with pytest.raises(BuildLayoutError, match=f"^{b}/{message}") as exc:
            open_build()
        assert "\n" not in str(exc.value)
