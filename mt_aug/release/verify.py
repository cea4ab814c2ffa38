"""Checking a build against its manifest and the output contract."""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pyarrow as pa

from mt_aug.arrow_io import read_stream
from mt_aug.buildfiles import MANIFEST, inside_build, read_manifest
from mt_aug.core.files import sha256_file
from mt_aug.packing.batching import prefix_drift
from mt_aug.packing.views import MONO_MIXED
from mt_aug.quality.audit import check
from mt_aug.release.card import CardError, render
from mt_aug.release.croissant import croissant_text
from mt_aug.release.guard import check_manifest
from mt_aug.release.problems import VerifyError
from mt_aug.schema import NEGATIVE_DROP_STAGE as NEGATIVE_STAGE
from mt_aug.schema import SCHEDULE_SCHEMA, SCHEDULE_SOURCE, SHARD_COLUMNS, SHARD_SOURCE_KEY, SOURCE_LANG


def _read_stream(path: Path, shown: str) -> pa.Table:
    try:
        return read_stream(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise VerifyError(f"{shown}: not a readable Arrow IPC stream (truncated or corrupt): {exc}") from None


def _check_size(path: Path, entry: dict[str, Any]) -> None:
    if entry.get("bytes") is not None and path.stat().st_size != entry["bytes"]:
        raise VerifyError(f"{entry['path']}: {path.stat().st_size} bytes, {MANIFEST} says {entry['bytes']} "
                          "(truncated or replaced)")


def grouped_by_source(m: dict[str, Any]) -> bool:
    """The build packed every batch from one source (its config's batching.group_by)."""
    return "source" in (((m.get("config") or {}).get("batching") or {}).get("group_by") or [])


def check_batch(rows: dict[str, list[Any]], kind: str, batch_size: int, where: str, mixed: bool = False,
                source: str | None = None) -> None:
    """One batch's rules; `source`: the one source all its rows come from (group_by: [source])."""
    n = len(rows["batch_id"])
    if n != batch_size:
        raise VerifyError(f"{where}: has {n} rows, batch_size is {batch_size}")
    if len(set(rows["batch_id"])) != 1:
        raise VerifyError(f"{where}: rows of more than one batch_id ({sorted(set(rows['batch_id']))[:3]})")
    pairs = list(zip(rows["query_lang"], rows["passage_lang"], strict=True))
    if kind == "mono":
        if any(q != p for q, p in pairs):
            raise VerifyError(f"{where}: mono batch has a row with query_lang != passage_lang")
        if not mixed and len({q for q, _ in pairs}) != 1:
            raise VerifyError(f"{where}: mono batch mixes languages {sorted({q for q, _ in pairs})}")
    else:
        if any(q == p for q, p in pairs):
            raise VerifyError(f"{where}: cross batch has a row with query_lang == passage_lang")
        if len(set(pairs)) != 1:
            raise VerifyError(f"{where}: cross batch mixes language pairs {sorted(set(pairs))[:3]}")
    for col in ("pair_id", "passage_id"):
        if len(set(rows[col])) != n:
            raise VerifyError(f"{where}: repeated {col} within the batch")
    if source is not None and set(rows["source"]) != {source}:
        raise VerifyError(f"{where}: rows of source(s) {sorted(set(rows['source']) - {source})[:3]} in a batch of "
                          f"source {source!r} (batching.group_by: [source]: one source per batch)")


# Files of every build besides its shards and schedule; README.md and croissant.json are
# checked by rendering them again from the manifest (so a `mt-aug card` re-render verifies).
RENDERED = ("README.md", "croissant.json")
DROPS = "drops.jsonl"
# Pair drops (lang en) happen at these stages; every other drop is a view drop of one language.
VIEW_DROP_STAGES = ("quality", "translate", "target-decontaminate")
# group_by: [source]: how far (in batches) a source may run from its share over a prefix of a
# kind's schedule (the build's interleave keeps it under 1)
MAX_SOURCE_DRIFT = 2.0


def _load_manifest(build_dir: Path) -> dict[str, Any]:
    return read_manifest(build_dir, ("batch_size", "files", "counts", "sources", "translation", "batches", "leftovers",
                                     "views", "languages"), VerifyError, shown=MANIFEST)


def _eq(what: str, stated: Any, actual: Any, where: str = MANIFEST) -> None:
    if stated != actual:
        raise VerifyError(f"{where}: {what} is {stated}, the files say {actual}")


def _counter(d: dict[str, int] | None) -> dict[str, int]:
    return {k: v for k, v in (d or {}).items() if v}


def verify_build(build_dir: str | Path) -> dict[str, Any]:
    """Check a build against its manifest: every figure the manifest states against the files,
    the accounting identities per source and language, the checksum of every file, the card
    and Croissant metadata against their rendering, and every batch invariant. Returns a
    summary; raises VerifyError naming the file, figure or batch and the rule."""
    build_dir = Path(build_dir)
    manifest = _load_manifest(build_dir)
    version = int(manifest.get("format_version", 1))
    batch_size = manifest["batch_size"]
    listed = {f["path"] for f in manifest["files"]}
    sched = manifest.get("schedule")
    checksums: dict[str, str] = dict(manifest.get("checksums") or {})
    if version >= 2 and DROPS not in checksums:
        raise VerifyError(f"{MANIFEST}: format_version {version} lists no checksums of {DROPS} (key 'checksums')")
    for i, f in enumerate(manifest["files"]):  # before any of them is opened
        inside_build(build_dir, f["path"], VerifyError, f"{MANIFEST}: files[{i}].path")
    for name in checksums:
        inside_build(build_dir, name, VerifyError, f"{MANIFEST}: checksums")
    if sched:
        inside_build(build_dir, sched["path"], VerifyError, f"{MANIFEST}: schedule.path")
    known = listed | set(checksums) | {MANIFEST, *RENDERED, DROPS} | ({sched["path"]} if sched else set())
    on_disk = sorted(p.relative_to(build_dir).as_posix() for p in build_dir.rglob("*") if p.is_file() or p.is_symlink())
    for extra in on_disk:
        inside_build(build_dir, extra, VerifyError, "a file in the build")
        if extra not in known:
            raise VerifyError(f"{extra}: file not listed in {MANIFEST}")
    for name, digest in sorted(checksums.items()):
        path = build_dir / name
        if not path.is_file():
            raise VerifyError(f"{name}: listed in {MANIFEST} but missing")
        got = sha256_file(path) if name not in RENDERED else digest
        if got != digest:
            raise VerifyError(f"{name}: sha256 {got[:16]}... != {MANIFEST} {digest[:16]}...")
    from mt_aug.release.verify_dev import verify_dev

    dev_ids = verify_dev(build_dir, manifest)  # the held-out pairs and passages, which no batch may hold
    all_batch_ids, rows_total, first_rows = _verify_shards(build_dir, manifest, batch_size, dev_ids)
    if sched:
        _verify_schedule(build_dir, sched, all_batch_ids, manifest["mono_ratio"],
                         {f["path"]: f.get("source") for f in manifest["files"]})
        _eq("schedule.steps", sched.get("steps"), len(all_batch_ids))
    _verify_figures(manifest, rows_total, len(all_batch_ids))
    _verify_translation_stats(manifest, version)
    _verify_licenses(manifest)
    _verify_negatives(manifest)
    _verify_drops(build_dir, manifest)
    _verify_examples(manifest, first_rows)
    _verify_rendered(build_dir, manifest)
    _verify_audit(build_dir, manifest)
    return {"files": len(manifest["files"]), "rows": rows_total, "batches": len(all_batch_ids)}


def _verify_audit(build_dir: Path, m: dict[str, Any]) -> None:
    """A person's audit (`mt-aug audit --labels`): its figures are what the labels kept in the
    build (checksummed with the other files) and the build's drop / kept frames give."""
    if not m.get("audit"):
        return

    problem = check(build_dir, m)
    if problem is not None:
        raise VerifyError(f"{MANIFEST}: {problem}")


def _verify_shards(build_dir: Path, manifest: dict[str, Any], batch_size: int,
                   dev_ids: tuple[set[str], set[str]] = (set(), set()),
                   ) -> tuple[dict[str, tuple[str, int]], int, dict[str, dict[str, Any]]]:
    all_batch_ids: dict[str, tuple[str, int]] = {}
    first_rows: dict[str, dict[str, Any]] = {}
    rows_total = 0
    columns = manifest.get("columns")
    languages = set(manifest["languages"])
    by_source = grouped_by_source(manifest)
    for entry in manifest["files"]:
        path = build_dir / entry["path"]
        if not path.is_file():
            raise VerifyError(f"{entry['path']}: listed in {MANIFEST} but missing")
        _check_size(path, entry)
        digest = sha256_file(path)
        if digest != entry["sha256"]:
            raise VerifyError(f"{entry['path']}: sha256 {digest[:16]}... != manifest {entry['sha256'][:16]}...")
        table = _read_stream(path, entry["path"])
        rows, names = table.num_rows, table.schema.names
        source = entry.get("source")
        if by_source != (source is not None):
            raise VerifyError(f"{entry['path']}: " + ("names no source, but the build packs batches of one source "
                                                      "(batching.group_by: [source])" if by_source else
                                                      f"names source {source!r}, but the build's batches are not "
                                                      "grouped by source"))
        meta = (table.schema.metadata or {}).get(SHARD_SOURCE_KEY.encode())
        if by_source and meta != str(source).encode():
            raise VerifyError(f"{entry['path']}: its schema metadata names source {meta!r}, {MANIFEST} says {source!r}")
        if rows and tuple(names[: len(SHARD_COLUMNS)]) != SHARD_COLUMNS:
            raise VerifyError(f"{entry['path']}: columns {names} != {list(SHARD_COLUMNS)}")
        if rows and columns is not None and list(names) != list(columns):
            raise VerifyError(f"{entry['path']}: columns {names} != manifest columns {columns}")
        # Training batches are row slices of batch_size (however the file is cut into record batches).
        if rows % batch_size:
            raise VerifyError(f"{entry['path']}: holds {rows} rows, not whole batches of batch_size {batch_size}")
        n_batches = rows // batch_size
        if rows != entry["rows"] or n_batches != entry["batches"]:
            raise VerifyError(
                f"{entry['path']}: holds {rows} rows in {n_batches} batches, manifest says {entry['rows']} in {entry['batches']}"
            )
        mixed = entry["group"] == MONO_MIXED
        for i in range(n_batches):  # one batch's rows as Python objects at a time
            d: dict[str, list[Any]] = table.slice(i * batch_size, batch_size).to_pydict()
            bid = d["batch_id"][0]
            check_batch(d, entry["kind"], batch_size, f"{entry['path']}: batch {i} ({bid})", mixed=mixed,
                        source=source)
            for col, held in zip(("pair_id", "passage_id"), dev_ids, strict=True):
                if held and not held.isdisjoint(d[col]):
                    x = sorted(held.intersection(d[col]))[0]
                    raise VerifyError(f"{entry['path']}: batch {i} ({bid}): {col} {x} is in the dev split")
            if bid in all_batch_ids:
                raise VerifyError(f"{entry['path']}: batch {i} ({bid}) also appears in {all_batch_ids[bid][0]}")
            all_batch_ids[bid] = (entry["path"], i)
            first_rows[bid] = {k: v[0] for k, v in d.items()}
            want_kind, want_group = entry["kind"], entry["group"]
            got_group = d["query_lang"][0] if want_kind == "mono" else f"{d['query_lang'][0]}-{d['passage_lang'][0]}"
            if got_group != want_group and not mixed:
                raise VerifyError(f"{entry['path']}: batch {i} ({bid}) is {got_group}, file is under {want_group}")
            stray = (set(d["query_lang"]) | set(d["passage_lang"])) - languages
            if stray:
                raise VerifyError(f"{entry['path']}: batch {i} ({bid}) has language {sorted(stray)[0]!r}, not one of "
                                  f"the manifest's languages")
        if n_batches:
            ids = table.column("batch_id")
            first = ids[0].as_py()
            if entry.get("first_batch") not in (None, first):
                raise VerifyError(f"{entry['path']}: first batch is {first}, manifest says {entry['first_batch']}")
            last = ids[-1].as_py()
            if entry.get("last_batch") not in (None, last):
                raise VerifyError(f"{entry['path']}: last batch is {last}, manifest says {entry['last_batch']}")
        rows_total += rows
    return all_batch_ids, rows_total, first_rows


def _verify_figures(m: dict[str, Any], rows: int, batches: int) -> None:
    """Every count the manifest states, against the files and against each other."""
    counts, bs = m["counts"], m["batch_size"]
    _eq("counts.rows", counts.get("rows"), rows)
    _eq("counts.batches", counts.get("batches"), batches)
    if rows != batches * bs:
        raise VerifyError(f"{MANIFEST}: {rows} rows are not {batches} batches of batch_size {bs}")
    per_group: dict[tuple[str, str], int] = {}
    for f in m["files"]:
        per_group[(f["kind"], f["group"])] = per_group.get((f["kind"], f["group"]), 0) + f["batches"]
    for kind in ("mono", "cross"):
        stated = {g: n for g, n in m["batches"].get(kind, {}).items()}
        for group in sorted(set(stated) | {g for k, g in per_group if k == kind}):
            _eq(f"batches.{kind}.{group}", stated.get(group, 0), per_group.get((kind, group), 0))
    leftovers = m["leftovers"]
    _eq("counts.leftover_rows", counts.get("leftover_rows"),
        sum(sum(v.values()) for v in leftovers.values()))
    _verify_source_batches(m)
    # sources: read == kept + dropped, and their sums are the counts
    for name, s in sorted(m["sources"].items()):
        dropped = sum((s.get("dropped") or {}).values())
        if s["read"] != s["kept"] + dropped:
            raise VerifyError(f"{MANIFEST}: sources.{name}: read {s['read']} != kept {s['kept']} + dropped {dropped}")
    kept = sum(s["kept"] for s in m["sources"].values())
    _eq("counts.input_pairs", counts.get("input_pairs"), sum(s["read"] for s in m["sources"].values()))
    _eq("counts.kept_pairs (sum of sources' kept)", counts.get("kept_pairs"), kept)
    # languages: every kept pair is a view of each target language or a counted drop
    targets = [lang for lang in m["languages"] if lang != SOURCE_LANG]
    if sorted(m["translation"]) != sorted(targets):
        raise VerifyError(f"{MANIFEST}: translation covers {sorted(m['translation'])}, target languages are "
                          f"{sorted(targets)}")
    views_dropped = 0
    for lang, t in sorted(m["translation"].items()):
        vd = sum((t.get("views_dropped") or {}).values())
        views_dropped += vd
        if t["views"] + vd != kept:
            raise VerifyError(f"{MANIFEST}: translation.{lang}: views {t['views']} + views_dropped {vd} != "
                              f"{kept} kept pairs")
        if all(k in t for k in ("unique", "cached", "translated")) and t["cached"] + t["translated"] != t["unique"]:
            raise VerifyError(f"{MANIFEST}: translation.{lang}: cached {t['cached']} + translated {t['translated']} != "
                              f"unique {t['unique']} segments")
        model = (m.get("models") or {}).get(lang, {}).get("model")
        if model is not None and t.get("model") != model:
            raise VerifyError(f"{MANIFEST}: translation.{lang}.model {t.get('model')} != models.{lang}.model {model}")
    _eq("counts.views_dropped", counts.get("views_dropped"), views_dropped)
    if "drops" in m:
        _eq("counts.views_dropped (drops.views)", counts.get("views_dropped"), sum(m["drops"].get("views", {}).values()))
    # views: assigned per pair (or short), then packed into batches or left over
    cfg_b = (m.get("config") or {}).get("batching") or {}
    views, short = m["views"], m["views"].get("short") or {}
    for kind, per_pair in (("mono", cfg_b.get("mono_views_per_pair")), ("cross", cfg_b.get("cross_views_per_pair"))):
        assigned = sum(views.get(kind, {}).values())
        if per_pair is not None and assigned + short.get(kind, 0) != kept * per_pair:
            raise VerifyError(f"{MANIFEST}: views.{kind}: {assigned} views + {short.get(kind, 0)} short != "
                              f"{kept} kept pairs x {kind}_views_per_pair {per_pair}")
        stated_b, stated_l = m["batches"].get(kind, {}), leftovers.get(kind, {})
        if kind == "mono" and MONO_MIXED in stated_b:
            groups = {MONO_MIXED: assigned}
        else:
            groups = {g: n for g, n in views.get(kind, {}).items() if n}
        for g in sorted(set(groups) | set(stated_b) | set(stated_l)):
            packed = stated_b.get(g, 0) * bs + stated_l.get(g, 0)
            if packed != groups.get(g, 0):
                raise VerifyError(f"{MANIFEST}: {kind} {g}: {stated_b.get(g, 0)} batches x {bs} + "
                                  f"{stated_l.get(g, 0)} leftover rows != {groups.get(g, 0)} views")
    # the guard's verdict is a function of the figures above and the config's thresholds
    if "guard" in m:
        guards = ((m.get("config") or {}).get("guards")) or {}
        verdict = check_manifest(m, type("Guards", (), dict(guards))())
        if (m["guard"] or {}).get("failures") or verdict.failures:
            raise VerifyError(f"{MANIFEST}: the guard refuses this build ({(verdict.failures or m['guard']['failures'])[0]}):"
                              " a build the guard refused is not publishable")
        _eq("guard.warnings", list((m["guard"] or {}).get("warnings", [])), verdict.warnings)
    # the config the manifest quotes, and its hash
    cfg = m.get("config")
    if isinstance(cfg, dict):
        for key, value in (("seed", cfg.get("seed")), ("languages", cfg.get("languages")),
                           ("batch_size", cfg_b.get("batch_size")), ("mono_ratio", cfg_b.get("mono_ratio")),
                           ("mono_mixing", cfg_b.get("mono_mixing")), ("rows_per_file", cfg_b.get("rows_per_file"))):
            if key in m and value is not None and m[key] != value:
                raise VerifyError(f"{MANIFEST}: {key} is {m[key]}, its config says {value}")
        if "config_hash" in m:
            digest = hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()
            if digest != m["config_hash"]:
                raise VerifyError(f"{MANIFEST}: config_hash {str(m['config_hash'])[:16]}... is not the hash of its "
                                  f"config ({digest[:16]}...)")


def _verify_source_batches(m: dict[str, Any]) -> None:
    """group_by: [source]: the batches per source and kind are the files', the leftovers per
    source add up to counts.leftover_rows, and every source of the config is counted."""
    if not grouped_by_source(m):
        return
    stated = m.get("source_batches")
    if not isinstance(stated, dict):
        raise VerifyError(f"{MANIFEST}: no source_batches, but the build groups batches by source")
    files: Counter[tuple[str, str]] = Counter()
    for f in m["files"]:
        files[(str(f.get("source")), f["kind"])] += f["batches"]
    for name in sorted(set(stated) | {s for s, _ in files}):
        s = stated.get(name) or {}
        for kind in ("mono", "cross"):
            _eq(f"source_batches.{name}.{kind}", s.get(kind, 0), files.get((name, kind), 0))
    _eq("counts.leftover_rows (sum of source_batches' leftover_rows)", m["counts"].get("leftover_rows"),
        sum(int((s or {}).get("leftover_rows", 0)) for s in stated.values()))
    for name in sorted(set(m["sources"]) - set(stated)):
        raise VerifyError(f"{MANIFEST}: source_batches does not count source {name!r}")


def _verify_translation_stats(m: dict[str, Any], version: int) -> None:
    """Per target language, what the builder's translate and quality-gate steps make true (keys
    required from format_version 2 on): the model ran (model_calls >= 1, at most one call per
    translated segment) exactly when something was translated; every unique segment was judged
    (quality.judged = unique = cached + translated); `filtered` (distinct segments the gate
    dropped, per reason) is the gate's quality.dropped; a view dropped for a quality reason
    needs a segment filtered for it, and a filtered segment drops at least one view."""
    for lang, t in sorted(m["translation"].items()):
        where = f"translation.{lang}"
        if version >= 2:
            for key in ("model_calls", "filtered", "quality"):
                if key not in t:
                    raise VerifyError(f"{MANIFEST}: {where}: missing key {key!r}")
            if "judged" not in (t["quality"] or {}):
                raise VerifyError(f"{MANIFEST}: {where}.quality: missing key 'judged'")
        translated = t.get("translated")
        if "model_calls" in t and translated is not None:
            calls = t["model_calls"]
            if translated == 0 and calls != 0:
                raise VerifyError(f"{MANIFEST}: {where}.model_calls is {calls} with translated 0 (every segment "
                                  "came from the cache: the model was never called)")
            if translated > 0 and not 1 <= calls <= translated:
                raise VerifyError(f"{MANIFEST}: {where}.model_calls is {calls} for {translated} translated segments "
                                  "(at least 1, at most one call per segment)")
        quality = t.get("quality") or {}
        if "judged" in quality and "unique" in t:
            _eq(f"{where}.quality.judged", quality["judged"], t["unique"], f"{MANIFEST} ({where}.unique)")
            if quality.get("verdicts_cached", 0) > quality["judged"]:
                raise VerifyError(f"{MANIFEST}: {where}.quality.verdicts_cached {quality['verdicts_cached']} > "
                                  f"judged {quality['judged']}")
        if "filtered" not in t:
            continue
        filtered = _counter(t["filtered"])
        if "dropped" in quality:
            _eq(f"{where}.filtered", filtered, _counter(quality["dropped"]), f"{MANIFEST} ({where}.quality.dropped)")
        if "unique" in t and sum(filtered.values()) > t["unique"]:
            raise VerifyError(f"{MANIFEST}: {where}.filtered: {sum(filtered.values())} segments filtered of "
                              f"{t['unique']} unique")
        by_quality = {k.removeprefix("quality:"): v for k, v in _counter(t.get("views_dropped")).items()
                      if k.startswith("quality:")}
        for reason in sorted(set(by_quality) - set(filtered)):
            raise VerifyError(f"{MANIFEST}: {where}.views_dropped has {by_quality[reason]} view(s) dropped for "
                              f"quality:{reason}, but {where}.filtered has no segment filtered for {reason!r}")
        # a filtered segment may have cost only a dev question or a hard negative, never a training view
        dev_dropped = (((m.get("dev") or {}).get("languages") or {}).get(lang) or {}).get("dropped") or {}
        negs = ((m.get("hard_negatives") or {}).get("languages") or {}).get(lang) or {}
        elsewhere = [*dev_dropped, *_counter(negs.get("dropped"))]
        if filtered and not by_quality and not any(r.startswith("quality:") for r in elsewhere):
            raise VerifyError(f"{MANIFEST}: {where}.filtered has {sum(filtered.values())} segment(s), but no view was "
                              f"dropped for quality ({where}.views_dropped)")


def _verify_licenses(m: dict[str, Any]) -> None:
    """Every source states its license (the config's, its dataset card's, or 'unknown')."""
    for name, s in sorted(m["sources"].items()):
        lic = s.get("license")
        if not isinstance(lic, str) or not lic.strip():
            raise VerifyError(f"{MANIFEST}: sources.{name}.license: missing (every source states its license, "
                              "'unknown' when neither the config nor a dataset card gives one)")


def _verify_drops(build_dir: Path, m: dict[str, Any]) -> None:
    """drops.jsonl holds every drop the manifest counts: per source and reason, per language
    and reason, per stage and reason, per eval set."""
    from mt_aug.release.verify_dev import is_dev_view_drop

    path = build_dir / DROPS
    if not path.is_file():
        raise VerifyError(f"{DROPS}: missing (the manifest counts {sum((m.get('drops') or {}).get('pairs', {}).values())} "
                          "pair drops)")
    # its sha256 was checked with the other checksums (format 2 lists it)
    by_source: dict[str, Counter[str]] = defaultdict(Counter)
    by_lang: dict[str, Counter[str]] = defaultdict(Counter)
    by_stage: Counter[str] = Counter()
    by_view: Counter[str] = Counter()
    contaminated: dict[tuple[str, str, str], int] = Counter()
    decontaminated: list[tuple[int, str, str, dict[str, Any]]] = []  # (line, side, lang, record)
    negatives: dict[str, Counter[str]] = defaultdict(Counter)  # lang -> reason -> hard negatives dropped
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            try:
                d = json.loads(line)
                stage, source, reason, lang = d["stage"], d["source"], d["reason"], d.get("lang", SOURCE_LANG)
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise VerifyError(f"{DROPS}: line {i}: not a drop record ({exc})") from None
            if is_dev_view_drop(stage):
                continue  # a dev question lost in one language: checked with the dev split
            if stage == NEGATIVE_STAGE:  # a hard negative, not its pair or view
                negatives[lang][reason] += 1
                continue
            if stage in VIEW_DROP_STAGES or lang != SOURCE_LANG:
                by_lang[lang][reason] += 1
                by_view[f"{lang}/{reason}"] += 1
                side = "target"
            else:
                by_source[source][reason] += 1
                by_stage[f"{stage}/{reason}"] += 1
                side = "source"
            if stage in ("decontaminate", "target-decontaminate") and "eval_set" in d:
                contaminated[(side, lang, d["eval_set"])] += 1
            if stage in ("decontaminate", "target-decontaminate"):
                decontaminated.append((i, side, lang, d))
    for name, s in sorted(m["sources"].items()):
        _eq(f"sources.{name}.dropped", _counter(s.get("dropped")), dict(sorted(by_source.get(name, {}).items())),
            f"{MANIFEST} vs {DROPS}")
    for name in sorted(set(by_source) - set(m["sources"])):
        raise VerifyError(f"{DROPS}: drops of source {name!r}, which the manifest does not list")
    for lang, t in sorted(m["translation"].items()):
        _eq(f"translation.{lang}.views_dropped", _counter(t.get("views_dropped")),
            dict(sorted(by_lang.get(lang, {}).items())), f"{MANIFEST} vs {DROPS}")
    drops = m.get("drops")
    if drops is not None:
        _eq("drops.pairs", _counter(drops.get("pairs")), dict(sorted(by_stage.items())), f"{MANIFEST} vs {DROPS}")
        _eq("drops.views", _counter(drops.get("views")), dict(sorted(by_view.items())), f"{MANIFEST} vs {DROPS}")
    dec = m.get("decontamination") or {}
    for side in ("source", "target"):
        for lang, sets in sorted((dec.get(side) or {}).items()):
            for name, s in sorted(sets.items()):
                _eq(f"decontamination.{side}.{lang}.{name}.pairs_dropped", s.get("pairs_dropped"),
                    contaminated.get((side, lang, name), 0), f"{MANIFEST} vs {DROPS}")
    _verify_decontamination(m, decontaminated)
    hn = m.get("hard_negatives")
    stated = {} if hn is None else {SOURCE_LANG: _counter((hn.get("en") or {}).get("dropped")),
                                    **{lang: _counter(x.get("dropped")) for lang, x in (hn.get("languages") or {}).items()}}
    for lang in sorted(set(stated) | set(negatives)):
        _eq(f"hard_negatives dropped ({lang})", stated.get(lang, {}), dict(sorted(negatives.get(lang, {}).items())),
            f"{MANIFEST} vs {DROPS}")


def _verify_negatives(m: dict[str, Any]) -> None:
    """hard_negatives: per target language, the negatives asked for (the first K of each pair,
    the same in every language) are kept or dropped, and K is the config's."""
    hn = m.get("hard_negatives")
    if hn is None:
        return
    k = ((m.get("config") or {}).get("hard_negatives") or {}).get("translate")
    if k is not None:
        _eq("hard_negatives.translate", hn.get("translate"), k, f"{MANIFEST} (config.hard_negatives.translate)")
    for lang, x in sorted((hn.get("languages") or {}).items()):
        dropped = sum((x.get("dropped") or {}).values())
        if x.get("asked") != x.get("kept", 0) + dropped:
            raise VerifyError(f"{MANIFEST}: hard_negatives.languages.{lang}: asked {x.get('asked')} != kept "
                              f"{x.get('kept')} + dropped {dropped}")
        if "asked" in hn and x.get("asked") != hn["asked"]:
            raise VerifyError(f"{MANIFEST}: hard_negatives.languages.{lang}.asked {x.get('asked')} != "
                              f"hard_negatives.asked {hn['asked']}")


def _verify_decontamination(m: dict[str, Any], drops: list[tuple[int, str, str, dict[str, Any]]]) -> None:
    """The per-eval-set summaries (decontamination.<side>.<lang>.<eval set>) against themselves,
    the configured eval sets and the decontamination drops of drops.jsonl: each drop names its
    eval set in its reason; per side and language the sets' pairs_dropped add up to the drops
    (a drop of a set with no summary, or a summary removed, is caught here); a question match
    is counted once per dropped pair (questions_matched = drops matched by their question); every
    match has a method (sum of methods = passages_matched + questions_matched)."""
    dec = m.get("decontamination") or {}
    configured = set((dec.get("eval_sets") or {}))
    per_side: Counter[tuple[str, str]] = Counter()
    questions: Counter[tuple[str, str, str]] = Counter()
    for line, side, lang, d in drops:
        name = d.get("eval_set")
        if name is None or d["reason"] != f"contaminated:{name}":
            raise VerifyError(f"{DROPS}: line {line}: a decontamination drop whose reason {d['reason']!r} does not "
                              f"name its eval set ({name!r})")
        per_side[(side, lang)] += 1
        questions[(side, lang, name)] += d.get("field") == "question"
    for side in ("source", "target"):
        langs = dec.get(side) or {}
        for lang in sorted(set(langs) | {lg for s, lg in per_side if s == side}):
            sets = langs.get(lang) or {}
            where = f"decontamination.{side}.{lang}"
            for name, s in sorted(sets.items()):
                if configured and name not in configured:
                    raise VerifyError(f"{MANIFEST}: {where}.{name}: not an eval set of this build "
                                      f"(decontamination.eval_sets: {sorted(configured)})")
                matched = s.get("passages_matched", 0) + s.get("questions_matched", 0)
                if sum((s.get("methods") or {}).values()) != matched:
                    raise VerifyError(f"{MANIFEST}: {where}.{name}.methods add up to "
                                      f"{sum((s.get('methods') or {}).values())}, passages_matched + "
                                      f"questions_matched is {matched}")
                _eq(f"{where}.{name}.questions_matched", s.get("questions_matched", 0),
                    questions.get((side, lang, name), 0), f"{MANIFEST} vs {DROPS}")
            total = sum(s.get("pairs_dropped", 0) for s in sets.values())
            if total != per_side.get((side, lang), 0):
                raise VerifyError(f"{MANIFEST} vs {DROPS}: {where}: the eval sets' pairs_dropped add up to {total}, "
                                  f"{DROPS} holds {per_side.get((side, lang), 0)} decontamination drops of {lang}")


def _verify_examples(m: dict[str, Any], first_rows: dict[str, dict[str, Any]]) -> None:
    for i, ex in enumerate(m.get("examples") or []):
        row = first_rows.get(ex.get("batch_id"))
        if row is None:
            raise VerifyError(f"{MANIFEST}: examples[{i}]: batch {ex.get('batch_id')} is in no file")
        for k, v in ex.items():
            if row.get(k) != v:
                raise VerifyError(f"{MANIFEST}: examples[{i}].{k} differs from the first row of batch {ex['batch_id']}")


def _verify_rendered(build_dir: Path, m: dict[str, Any]) -> None:
    """README.md and croissant.json must be what `mt-aug card` renders from the manifest."""
    try:
        want = {"README.md": render(m),
                "croissant.json": croissant_text(m)}
    except (CardError, KeyError, TypeError, ValueError) as exc:
        raise VerifyError(f"{MANIFEST}: cannot render the card: {exc}") from None
    for name, text in want.items():
        path = build_dir / name
        if not path.is_file():
            raise VerifyError(f"{name}: missing")
        got = path.read_text(encoding="utf-8", errors="replace")
        if got != text:
            line = next((i for i, (a, b) in enumerate(zip(got.splitlines(), text.splitlines()), 1) if a != b),
                        min(len(got.splitlines()), len(text.splitlines())) + 1)
            raise VerifyError(f"{name}: differs from its rendering from {MANIFEST} at line {line} (edited? "
                              "`mt-aug card BUILD_DIR` renders it again)")


def _verify_schedule(build_dir: Path, sched: dict[str, Any], batches: dict[str, tuple[str, int]], ratio: float,
                     file_sources: dict[str, str | None]) -> None:
    path = build_dir / sched["path"]
    if not path.is_file():
        raise VerifyError(f"{sched['path']}: listed in manifest.json but missing")
    _check_size(path, sched)
    if sha256_file(path) != sched["sha256"]:
        raise VerifyError(f"{sched['path']}: sha256 does not match manifest.json")
    got = _read_stream(path, sched["path"])
    by_source = any(s is not None for s in file_sources.values())
    want = SCHEDULE_SCHEMA.append(SCHEDULE_SOURCE) if by_source else SCHEDULE_SCHEMA
    if got.num_rows and got.schema.names != want.names:
        raise VerifyError(f"{sched['path']}: columns {got.schema.names} != {want.names}")
    table = (got if got.num_rows else want.empty_table()).to_pydict()
    if by_source:
        for step, (bid, src) in enumerate(zip(table["batch_id"], table["source"], strict=True)):
            if bid in batches and file_sources.get(batches[bid][0]) != src:
                raise VerifyError(f"{sched['path']}: step {step}: source {src!r}, batch {bid} is of source "
                                  f"{file_sources.get(batches[bid][0])!r}")
        for kind in ("mono", "cross"):  # sources spread out within each kind, none in a block
            srcs = [s for k, s in zip(table["kind"], table["source"], strict=True) if k == kind]
            got = Counter(srcs)
            drift = prefix_drift(srcs, {s: n / len(srcs) for s, n in got.items()}) if srcs else 0.0
            if drift > MAX_SOURCE_DRIFT:
                raise VerifyError(f"{sched['path']}: {kind} batches: a source runs {drift:.1f} batches ahead of or "
                                  f"behind its share: the schedule is blocked, not interleaved by source")
    seen: set[str] = set()
    for step, (bid, f, idx) in enumerate(zip(table["batch_id"], table["file"], table["batch_index"], strict=True)):
        if bid not in batches:
            raise VerifyError(f"{sched['path']}: step {step}: unknown batch {bid}")
        if bid in seen:
            raise VerifyError(f"{sched['path']}: step {step}: batch {bid} scheduled twice")
        if batches[bid] != (f, idx):
            raise VerifyError(f"{sched['path']}: step {step}: batch {bid} is at {batches[bid]}, schedule says {(f, idx)}")
        seen.add(bid)
    missing = set(batches) - seen
    if missing:
        raise VerifyError(f"{sched['path']}: {len(missing)} batches never scheduled, e.g. {sorted(missing)[0]}")
    kinds = table["kind"]
    if kinds:
        mono = kinds.count("mono")
        if abs(mono - ratio * len(kinds)) > 1:
            raise VerifyError(f"{sched['path']}: {mono} of {len(kinds)} batches are mono, mono_ratio {ratio} "
                              f"wants {ratio * len(kinds):.1f} (within one batch)")
        # interleaved, not blocked: every prefix keeps the ratio while both kinds last
        used = 0
        last = min(len(kinds), int(min(mono / max(ratio, 1e-9), (len(kinds) - mono) / max(1 - ratio, 1e-9))))
        for step, kind in enumerate(kinds[:last]):
            used += kind == "mono"
            if abs(used - ratio * (step + 1)) > 1:
                raise VerifyError(f"{sched['path']}: step {step}: {used} mono batches of {step + 1}, "
                                  f"mono_ratio {ratio}: the schedule is blocked, not interleaved")
