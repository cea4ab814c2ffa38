"""The data card (Hugging Face dataset card) of a build: a pure function of its manifest."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from mt_aug.buildfiles import inside_build, read_manifest
from mt_aug.core.files import sha256_file
from mt_aug.languages import LANGUAGES
from mt_aug.redact import redact
from mt_aug.release.configs import config_data_files, config_names
from mt_aug.release.croissant import croissant_text

REQUIRED_MANIFEST_KEYS = (
    "build_id", "name", "config_hash", "code_version", "seed", "languages", "batch_size", "mono_ratio",
    "models", "sources", "decontamination", "translation", "batches", "leftovers", "counts", "files",
)

NON_COMMERCIAL = {"other-non-commercial", "cc-by-nc-4.0", "cc-by-nc-sa-4.0", "ms-marco", "msmarco"}


class CardError(ValueError):
    pass


def _size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                         (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")):
        if n < limit:
            return label
    return "n>10M"


def front_matter(manifest: dict[str, Any]) -> dict[str, Any]:
    licenses = sorted({s.get("license") or "unknown" for s in manifest["sources"].values()})
    return {
        "pretty_name": f"mt-aug build {manifest['name']}",
        "language": list(manifest["languages"]),
        "multilinguality": "multilingual",
        "language_creators": ["found", "machine-generated"],
        "annotations_creators": ["crowdsourced"],
        "source_datasets": [f"extended|{name}" for name in sorted(manifest["sources"])],
        "task_categories": ["text-retrieval"],
        "task_ids": ["document-retrieval"],
        "license": licenses if len(licenses) > 1 else licenses[0],
        "size_categories": [_size_category(manifest["counts"]["rows"])],
        "configs": [
            {"config_name": name, "data_files": [{"split": "train", "path": config_data_files(manifest, name, glob)}],
             "description": config_description(manifest, name)}
            for name, glob in config_names(manifest)
        ],
    }


def config_description(manifest: dict[str, Any], name: str) -> str:
    """A config's description, naming the checksum of its files' contents.

    Why: `datasets` 5.2 caches `load_dataset(path, name)` for a local folder under
    `<dataset_name>/<config_id>/<version>/<hash>`, where dataset_name is the folder's name
    (`current` for every build) and config_id the config name, and `hash` hashes the card's
    `configs:` entries *unresolved* (the glob `mono/pt/*.arrow`, not the files it matches),
    so after a rebuild the same call finds the previous build's Arrow copy and returns stale
    rows. The description is part of the builder config and so of that hash: naming the
    content here gives each build's contents their own cache entry (same shards, same
    entry), with no absolute path in the card."""
    kind, group = name.split("-", 1)
    shas = sorted(f["sha256"] for f in manifest["files"] if f.get("kind") == kind and f.get("group") == group)
    digest = hashlib.sha256("\n".join(shas).encode()).hexdigest()[:16]
    what = "Monolingual" if kind == "mono" else "Cross-lingual"
    return f"{what} batches, {group}; contents sha256 {digest}"


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _fmt_counts(d: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(d.items())) or "none"


# Values that change from one run of the same build to the next; a stable card replaces them.
VOLATILE = ("build_id", "started_at", "finished_at", "host", "flow_run_id")


def stable(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest with run-specific values replaced, so that the card of the same config,
    inputs, seed and models is the same text on any machine (data_cards/demo-build.md)."""
    def local(x: Any) -> Any:  # absolute paths -> file names: where a checkout lives is not a fact of the build
        if isinstance(x, dict):
            return {k: local(v) for k, v in x.items()}
        if isinstance(x, list):
            return [local(v) for v in x]
        return Path(x).name if isinstance(x, str) and x.startswith("/") else x

    m = local(json.loads(json.dumps(manifest)))
    for key in (*VOLATILE, "config_hash"):
        if key in m:
            m[key] = f"<{key}>"
    m["code_version"] = {"version": m["code_version"].get("version"), "git_commit": "<git_commit>"}
    for key in ("output_dir", "cache_dir"):
        if key in m.get("config", {}):
            m["config"][key] = f"<{key}>"
    m["translation"] = {lang: {**t, "seconds": "<seconds>"} for lang, t in m["translation"].items()}
    return m


def render(manifest: dict[str, Any]) -> str:
    missing = [k for k in REQUIRED_MANIFEST_KEYS if k not in manifest]
    if missing:
        raise CardError(f"manifest: missing field {missing[0]!r}")
    # as read back from manifest.json (same text either way); credentials redacted again: the
    # manifest of a build made before mt_aug.redact may carry them
    m = redact(json.loads(json.dumps(manifest, sort_keys=True)))
    fm = yaml.safe_dump(front_matter(m), sort_keys=False, allow_unicode=True)
    langs = ", ".join(f"{c} ({LANGUAGES[c].name})" if c in LANGUAGES else c for c in m["languages"])
    parts: list[str] = [f"---\n{fm}---\n"]
    nc = [n for n, s in m["sources"].items() if (s.get("license") or "").lower() in NON_COMMERCIAL
          or s.get("commercial_use") is False]
    if nc:
        parts.append(
            f"> **Warning: non-commercial data.** Source(s) {', '.join(sorted(nc))} may be used for "
            "non-commercial research only; so may this build and any model trained on it.\n"
        )
    for w in (m.get("guard") or {}).get("warnings", []):  # mt_aug.release.guard: published, but say so
        parts.append(f"> **Warning:** {w}\n")
    parts.append(f"# mt-aug build `{m['name']}` ({m['build_id']})\n")
    parts.append(
        "## Summary\n\n"
        f"Question-passage pairs for training multilingual dense retrievers with hybrid batches "
        f"(arXiv 2408.10536): English QA pairs machine-translated into {langs}, decontaminated "
        f"against the evaluation sets below, packed into batches of exactly {m['batch_size']} rows "
        f"that are either monolingual (query and passage in one language) or cross-lingual. "
        f"{m['counts']['rows']} rows in {m['counts']['batches']} batches from "
        f"{m['counts']['kept_pairs']} English pairs ({m['counts']['input_pairs']} read).\n"
    )
    parts.append(
        "## How to load and train\n\n"
        "Each file holds whole batches; rows of a batch are contiguous: batch `i` of a file is its rows "
        f"`i * {m['batch_size']}` to `(i + 1) * {m['batch_size']} - 1`. `schedule.arrow` lists the batches "
        "(file and batch index) in hybrid order "
        f"(mono share {m['mono_ratio']}). Load one language or pair with\n\n"
        "```python\nimport datasets\n"
        f"ds = datasets.load_dataset(BUILD_DIR, \"{config_names(m)[0][0] if config_names(m) else 'mono-en'}\", split=\"train\")\n"
        "```\n\nor train on the packed batches with `mt_aug.training.train_dataset(BUILD_DIR)` and "
        "`mt_aug.training.HybridBatchSampler(BUILD_DIR)` (one batch per step; sentence-transformers' "
        "`batch_sampler=` or a PyTorch DataLoader's), or follow the schedule with `mt_aug.read_batches(BUILD_DIR)`.\n"
    )
    cv = m["code_version"]
    model_rows = [[lang, x["backend"], f"`{x['model']}`", json.dumps(x["decoding"], sort_keys=True)]
                  for lang, x in sorted(m["models"].items())]
    parts.append(
        "## Provenance\n\n"
        f"- config hash: `{m['config_hash']}`\n"
        f"- mt-aug {cv.get('version')} (git {cv.get('git_commit') or 'unknown'})\n"
        f"- Prefect flow run: {m.get('flow_run_id') or 'none'}\n"
        f"- seed: {m['seed']}; started {m.get('started_at')}; finished {m.get('finished_at')}\n\n"
        + _table(["language", "backend", "model", "decoding"], model_rows) + "\n\n"
        "<details><summary>Build config</summary>\n\n```yaml\n"
        + yaml.safe_dump(m.get("config", {}), sort_keys=False, allow_unicode=True)
        + "```\n</details>\n"
    )
    src_rows = [[n, s["read"], s["kept"], _fmt_counts(s["dropped"]), s.get("license") or "unknown",
                 "yes" if s.get("commercial_use", True) else "**no**", s.get("url") or "-"]
                for n, s in sorted(m["sources"].items())]
    cites = "".join(f"\n```bibtex\n{s['citation']}\n```\n" for _, s in sorted(m["sources"].items())
                    if s.get("citation"))
    parts.append("## Sources\n\n" + _table(["source", "read", "kept", "dropped (reason: n)", "license",
                                             "commercial use", "url"], src_rows) + "\n" + cites)
    tr_rows = [[lang, t["segments"], t["unique"], t["cached"], t["translated"], _fmt_counts(t["filtered"]),
                _fmt_counts(t["views_dropped"]), f"`{t['model']}`"] for lang, t in sorted(m["translation"].items())]
    parts.append("## Translation\n\n" + _table(
        ["language", "segments", "unique", "cache hits", "translated", "filtered segments", "views dropped", "model"],
        tr_rows) + "\n")
    quality = _quality_section(m["translation"], m.get("audit"))
    if quality:
        parts.append(quality)
    dec = m["decontamination"]
    dec_rows = []
    for side in ("source", "target"):
        for lang, sets in sorted(dec.get(side, {}).items()):
            for name, s in sorted(sets.items()):
                dec_rows.append([side, lang, name, s["pairs_dropped"], s["passages_matched"], s["questions_matched"],
                                 _fmt_counts(s["methods"])])
    eval_rows = [[name, lang, f"`{Path(f['path']).name}`", f"`{f['sha256'][:16]}`"]
                 for name, e in sorted(dec.get("eval_sets", {}).items())
                 for lang, files in sorted(e["files"].items()) for f in files]
    warn = "".join(f"\n- warning: {w}" for w in dec.get("warnings", []))
    parts.append("## Decontamination\n\n" + _table(
        ["side", "language", "eval set", "pairs/views dropped", "passages matched", "questions matched", "methods"],
        dec_rows or [["-", "-", "none configured", 0, 0, 0, "-"]]) + "\n\n" + _table(
        ["eval set", "language", "file", "sha256"], eval_rows or [["-", "-", "-", "-"]]) + "\n" + warn + "\n")
    if m.get("dev"):
        parts.append(_dev_section(m["dev"]))
    b_rows = [[kind, g, n, m["leftovers"][kind].get(g, 0)] for kind in ("mono", "cross")
              for g, n in sorted(m["batches"][kind].items())]
    parts.append("## Batches\n\n" + _table(["kind", "language / pair", "batches", "leftover rows"], b_rows) + "\n")
    if m.get("source_batches"):
        parts.append(_source_batches_section(m))
    if m.get("hard_negatives"):
        parts.append(_negatives_section(m["hard_negatives"]))
    f_rows = [[f"`{f['path']}`", f["rows"], f["batches"], f"`{f['sha256']}`"] for f in m["files"]]
    parts.append("## Files\n\n" + _table(["file", "rows", "batches", "sha256"], f_rows) + "\n")
    ex = m.get("examples") or []
    if ex:
        ex_rows = [[e["batch_id"], e["query_lang"], e["passage_lang"], e["query"][:120],
                    e["passage"][:160].replace("|", "/") + "..."] for e in ex]
        parts.append("## Examples\n\n" + _table(["batch", "query lang", "passage lang", "query", "passage"],
                                                  [[str(c).replace("|", "/") for c in r] for r in ex_rows]) + "\n")
    overlaps = "".join(f"- {n}: {o}\n" for n, s in sorted(m["sources"].items()) for o in s.get("known_overlaps", []))
    parts.append(
        "## Limitations\n\n"
        "- Non-English text is machine translation: expect translation errors, especially in names, "
        "numbers and rare words; quality filters remove only detectable failures.\n"
        "- Decontamination removes exact, near-exact and long n-gram overlap with the configured evaluation "
        "sets only; paraphrases of evaluation questions and evaluation sets not listed here are not removed.\n"
        "- Licenses of the sources carry over to this build (see Sources).\n"
        + (f"\nKnown overlaps of the sources (from their dataset cards):\n\n{overlaps}" if overlaps else "")
    )
    return "\n".join(parts)


def _dev_section(dev: dict[str, Any]) -> str:
    """The dev split (manifest `dev`, mt_aug.devsplit): what was held out, what each language kept."""
    rows = [[lang, e["passages"], e["questions"], e.get("lareqa_questions", "-"), _fmt_counts(e.get("dropped") or {})]
            for lang, e in sorted(dev["languages"].items())]
    files = [[f"`{f['path']}`", f"`{f['sha256']}`"] for f in dev.get("files", [])]
    lareqa = dev.get("lareqa") or {}
    warn = "".join(f"\n- warning: {w}" for w in dev.get("warnings", []))
    return (
        "## Dev split\n\n"
        f"{dev['passages']} English passages with all their {dev['questions']} questions are held out of the shards "
        "(the passages of lowest sha256(seed, passage_id); counted as `held out for dev` under Sources), translated "
        "and judged like the training pairs, and written under `dev/`: `dev/lareqa/<lang>.json` (LAReQA: SQuAD JSON "
        "with the build's sentences and sentence_breaks, sentence j parallel in every language; questions of "
        f"sources with answer spans: {', '.join(lareqa.get('sources') or []) or 'none'}) and `dev/beir/<lang>/` "
        "(corpus, queries, qrels; passage level). A question lost in a language is absent from its files.\n\n"
        + _table(["language", "passages", "questions", "LAReQA questions", "lost (reason: n)"], rows) + "\n\n"
        "Good for model selection and for languages no public evaluation set covers. Not a zero-shot measure: "
        "the dev split is the same distribution (sources, translation model) as the training rows.\n\n"
        + _table(["file", "sha256"], files) + "\n" + warn + "\n")


def _source_batches_section(m: dict[str, Any]) -> str:
    """batching.group_by: [source]: every batch holds one source; the schedule draws them so."""
    weights = ((m.get("config") or {}).get("batching") or {}).get("source_weights", "size")
    how = {"size": "in proportion to its batches (sampled by dataset size)",
           "uniform": "equally (the larger sources' surplus batches are leftovers)"}.get(
        weights, f"by the weights {json.dumps(weights, sort_keys=True)} (surplus batches are leftovers)")
    rows = [[name, s.get("mono", 0), s.get("cross", 0), f"{100 * (s.get('share') or {}).get('mono', 0):.1f}%",
             f"{100 * (s.get('share') or {}).get('cross', 0):.1f}%", s.get("leftover_rows", 0)]
            for name, s in sorted(m["source_batches"].items())]
    return ("## Batches per source\n\n"
            f"Every batch holds the views of one source only (`batching.group_by: [source]`); within each kind the "
            f"schedule and every later epoch of `HybridBatchSampler` draw a source {how}, spread out, and on N "
            "processes every step has one source on all ranks.\n\n"
            + _table(["source", "mono batches", "cross batches", "mono share", "cross share", "leftover rows"], rows)
            + "\n")


def _negatives_section(hn: dict[str, Any]) -> str:
    """Hard negatives: K, and per language how many the rows carry and what removed the others."""
    k = hn.get("translate", 0)
    en = hn.get("en") or {}
    rows = [["en", "-", en.get("kept", 0), _fmt_counts(en.get("dropped") or {})]]
    rows += [[lang, x.get("asked", 0), x.get("kept", 0), _fmt_counts(x.get("dropped") or {})]
             for lang, x in sorted((hn.get("languages") or {}).items())]
    if k:
        what = (f"The first {k} hard negative(s) of each pair (`hard_negatives.translate: {k}`) are translated "
                "through the same segmenter, translation cache and quality gate as the passages and written in the "
                "passage's language of every mono and cross row (`hard_negatives` column); a negative that fails the "
                "gate or overlaps an eval set is dropped from that language, never the pair. English rows carry "
                "every English negative.")
        if not hn.get("pairs"):
            what += " No pair of this build has hard negatives: nothing was translated."
    else:
        what = ("Hard negatives are not translated (`hard_negatives.translate: 0`): rows whose passage is English "
                "carry the English negatives, every other row an empty list.")
    return ("## Hard negatives\n\n" + what + " English negatives that overlap an eval set are removed.\n\n"
            + _table(["language", "asked (first K per pair)", "kept", "dropped (reason: n)"], rows) + "\n")


def _cell(x: Any, n: int = 160) -> str:
    text = str(x).replace("|", "/").replace("\n", " ")
    return text if len(text) <= n else text[: n - 3] + "..."


def _pct(x: dict[str, float]) -> str:
    return f"{x['value']:.1%} [{x['lo']:.1%}, {x['hi']:.1%}]"


def _frac(x: dict[str, float]) -> str:
    return f"{x['value']:.2f} [{x['lo']:.2f}, {x['hi']:.2f}]"


def _residual_errors(q: dict[str, Any], audit: dict[str, Any] | None) -> str:
    """What is known of the bad translations the gate kept: a person's audit (manifest `audit`,
    mt_aug.quality.audit), else the gate's measured figures as the best estimate."""
    if audit:
        s = audit["strata"]
        parts = [f"**Audited**: {audit['labelled']} segments labelled by a person (`mt-aug audit`)"]
        for key, what, fmt in (("bad_among_kept", "bad among kept", _pct), ("precision", "gate precision", _frac),
                               ("recall", "recall", _frac)):
            parts.append(f"{what} {fmt(audit[key])}" if audit.get(key) else f"{what}: no labelled segment tells")
        return ("; ".join(parts) + f". Stratified estimate from {s['drop']['labelled']} of {s['drop']['population']} "
                f"dropped and {s['kept']['labelled']} of {s['kept']['population']} kept segments, 95% Wilson intervals "
                "(effective sample size of the design).\n")
    fig = q.get("figures")
    text = ("**Residual errors: unknown.** No person has labelled this build's translations, so how many bad "
            "translations the gate kept is not known (`mt-aug audit BUILD --lang L --n N --output SHEET` writes a "
            "sheet to label).")
    if not fig:
        return text + " No measured figures of this gate exist for this language.\n"
    where = f"{fig.get('set')}" + (", default settings; this build's differ" if not fig.get("default_settings", True) else "")
    return (text + f" Best estimate, the gate's figures for {fig.get('model')} on the {where}: precision "
            f"{_frac(fig['precision'])}, recall {_frac(fig['recall'])}, bad among kept {_pct(fig['bad_among_kept'])}.\n")


def _quality_section(translation: dict[str, Any], audit: dict[str, Any] | None = None) -> str:
    """Per language: drops by reason (segments and views), every signal that fired, the
    round-trip chrF distribution, the worst examples and what is known of the residual errors.
    Optional manifest fields `translation.<lang>.quality` (mt_aug.quality.gate.summary) and
    `audit` (mt_aug.quality.audit); absent: no section."""
    langs = [(lang, t) for lang, t in sorted(translation.items()) if t.get("quality")]
    if not langs:
        return ""
    out = ["## Translation quality\n",
           "The quality gate (mt_aug.quality) judges every unique translated segment; a view whose segments "
           "include a dropped one is dropped. Precision and recall of each signal on labelled Bergamot "
           "output are in the project's BENCHMARKS.md.\n"]
    for lang, t in langs:
        q = t["quality"]
        views = {k.removeprefix("quality:"): v for k, v in t.get("views_dropped", {}).items()
                 if k.startswith("quality:")}
        reasons = sorted(set(q.get("dropped", {})) | set(views))
        rows = [[r, q.get("dropped", {}).get(r, 0), views.get(r, 0), q.get("signals", {}).get(r, 0)] for r in reasons]
        name = f"{lang} ({LANGUAGES[lang].name})" if lang in LANGUAGES else lang
        out.append(f"### {name}\n\n{q.get('judged', 0)} unique segments judged (gate version "
                   f"{q.get('gate_version')}, settings `{q.get('settings')}`).\n")
        out.append(_table(["reason", "segments dropped", "views dropped", "segments where the signal fired"],
                          rows or [["none", 0, 0, 0]]) + "\n")
        for note in q.get("notes") or []:  # a signal that could not run (no reverse model, no lexicon)
            out.append(f"Not run: {note}.\n")
        out.append(_residual_errors(q, ((audit or {}).get("languages") or {}).get(lang)))
        rt = q.get("roundtrip")
        if rt:
            c = rt["chrf"]
            hist = ", ".join(f"{k}: {v}" for k, v in rt.get("histogram", {}).items())
            out.append(f"Round-trip chrF ({rt['scored']} segments, threshold {rt['threshold']}): p10 {c['p10']}, "
                       f"p25 {c['p25']}, median {c['median']}, p75 {c['p75']}, p90 {c['p90']}. "
                       f"Histogram: {hist}.\n")
        worst = q.get("worst") or []
        if worst:
            out.append("Worst examples:\n\n" + _table(
                ["source", "translation", "verdict", "chrF"],
                [[_cell(w["source"]), _cell(w["output"]), _cell(w.get("reason") or "kept"), w.get("chrf", "-")]
                 for w in worst]) + "\n")
    return "\n".join(out)


def write_card(build_dir: Path, manifest: dict[str, Any]) -> Path:
    """README.md (the card) and croissant.json beside it, each written to a temporary file and
    renamed over the old one (so a README.md that is a symbolic link is replaced, never
    followed out of the build)."""
    path = build_dir / "README.md"
    texts = _phrased("cannot render the card", lambda: (render(manifest), croissant_text(manifest)))
    for name, text in zip(("README.md", "croissant.json"), texts, strict=True):
        target = build_dir / name
        tmp = build_dir / f".{name}.tmp"
        try:
            tmp.unlink(missing_ok=True)
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    return path


def load_manifest(build_dir: Path) -> dict[str, Any]:
    return read_manifest(build_dir, REQUIRED_MANIFEST_KEYS, CardError)


def _phrased(what: str, fn: Callable[[], Any]) -> Any:
    """`fn()`, with a manifest whose nested fields have the wrong shape (a hand-edited or
    hostile one: the types of its top-level fields are checked when it is read) as one
    CardError line rather than a traceback."""
    try:
        return fn()
    except CardError:
        raise
    except (KeyError, TypeError, AttributeError, ValueError, IndexError) as exc:
        raise CardError(f"manifest.json: {what}: {_shape_error(exc)}") from None


def render_checked(manifest: dict[str, Any]) -> str:
    """`render`, a malformed manifest as one CardError line."""
    return str(_phrased("cannot render the card", lambda: render(manifest)))


def stable_card(manifest: dict[str, Any]) -> str:
    """The run-independent card (`mt-aug card --stable`), a malformed manifest as one CardError line."""
    return str(_phrased("cannot render the card", lambda: render(stable(manifest))))


def _shape_error(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}" if exc.args else "a field is missing"
    return f"a field has the wrong type ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"


def check_against_disk(build_dir: Path, manifest: dict[str, Any]) -> None:
    """Refuse to render a card whose numbers the files on disk do not bear out."""
    rows = 0
    for i, f in enumerate(manifest["files"]):
        path = inside_build(build_dir, f["path"], CardError, f"manifest.json: files[{i}].path")
        if not path.is_file():
            raise CardError(f"{f['path']}: listed in manifest.json but missing")
        if f.get("bytes") is not None and path.stat().st_size != f["bytes"]:
            raise CardError(f"{f['path']}: {path.stat().st_size} bytes, manifest.json says {f['bytes']}")
        if sha256_file(path) != f["sha256"]:
            raise CardError(f"{f['path']}: sha256 differs from manifest.json")
        try:
            with pa.memory_map(str(path)) as src:
                n = sum(rb.num_rows for rb in pa.ipc.open_stream(src))
        except (pa.ArrowInvalid, OSError) as exc:
            raise CardError(f"{f['path']}: not a readable Arrow IPC stream ({exc})") from None
        if n != f["rows"]:
            raise CardError(f"{f['path']}: holds {n} rows, manifest.json says {f['rows']}")
        rows += n
    if rows != manifest["counts"].get("rows"):
        raise CardError(f"manifest.json: counts.rows is {manifest['counts'].get('rows')}, the files hold {rows}")
    for kind in ("mono", "cross"):
        for group, n in manifest["batches"].get(kind, {}).items():
            got = sum(f["batches"] for f in manifest["files"] if f["kind"] == kind and f["group"] == group)
            if got != n:
                raise CardError(f"manifest.json: batches.{kind}.{group} is {n}, its files hold {got}")


def rerender(build_dir: Path) -> Path:
    manifest = load_manifest(build_dir)
    check_against_disk(build_dir, manifest)
    return write_card(build_dir, manifest)


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: d}


DIFF_SECTIONS = ("counts", "sources", "models", "translation", "batches", "leftovers", "languages", "seed",
                 "batch_size", "mono_ratio", "config_hash")


def diff(old: dict[str, Any], new: dict[str, Any]) -> str:
    """What changed between two builds: counts, sources, models, eval sets, translation, batches
    (a manifest of the wrong shape: one CardError line)."""
    return str(_phrased("cannot compare the builds", lambda: _diff(old, new)))


def _diff(old: dict[str, Any], new: dict[str, Any]) -> str:
    lines = [f"# {old.get('build_id')} -> {new.get('build_id')}"]
    for section in DIFF_SECTIONS:
        a, b = _flat(old.get(section), section), _flat(new.get(section), section)
        for key in sorted(set(a) | set(b)):
            if key.endswith(".seconds") or a.get(key) == b.get(key):
                continue
            va, vb = a.get(key, "(absent)"), b.get(key, "(absent)")
            delta = f" ({vb - va:+})" if isinstance(va, int) and isinstance(vb, int) else ""
            lines.append(f"{key}: {va} -> {vb}{delta}")
    ea = {name: {lang: sorted(f["sha256"] for f in fs) for lang, fs in e["files"].items()}
          for name, e in old["decontamination"].get("eval_sets", {}).items()}
    eb = {name: {lang: sorted(f["sha256"] for f in fs) for lang, fs in e["files"].items()}
          for name, e in new["decontamination"].get("eval_sets", {}).items()}
    for name in sorted(set(ea) | set(eb)):
        if name not in ea:
            lines.append(f"eval_sets.{name}: added ({', '.join(sorted(eb[name]))})")
        elif name not in eb:
            lines.append(f"eval_sets.{name}: removed")
        elif ea[name] != eb[name]:
            changed = sorted(lang for lang in set(ea[name]) | set(eb[name]) if ea[name].get(lang) != eb[name].get(lang))
            lines.append(f"eval_sets.{name}: files changed for {', '.join(changed)}")
    for side in ("source", "target"):
        a = _flat(old["decontamination"].get(side, {}), f"decontamination.{side}")
        b = _flat(new["decontamination"].get(side, {}), f"decontamination.{side}")
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                lines.append(f"{key}: {a.get(key, 0)} -> {b.get(key, 0)}")
    if len(lines) == 1:
        lines.append("no changes")
    return "\n".join(lines) + "\n"
