"""The data card (Hugging Face dataset card) of a build: a pure function of its manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from mt_aug.languages import LANGUAGES

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


def config_names(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """(config name, data_files glob) for every mono language and cross pair with batches."""
    out = []
    for kind in ("mono", "cross"):
        for group, n in sorted(manifest["batches"][kind].items()):
            if n > 0:
                out.append((f"{kind}-{group}", f"{kind}/{group}/*.arrow"))
    return out


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
            {"config_name": name, "data_files": [{"split": "train", "path": glob}]}
            for name, glob in config_names(manifest)
        ],
    }


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _fmt_counts(d: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(d.items())) or "none"


def render(manifest: dict[str, Any]) -> str:
    missing = [k for k in REQUIRED_MANIFEST_KEYS if k not in manifest]
    if missing:
        raise CardError(f"manifest: missing field {missing[0]!r}")
    m = manifest
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
        "Each file holds whole batches; rows of a batch are contiguous and every Arrow record batch "
        "is one training batch. `schedule.arrow` lists the batches in hybrid order "
        f"(mono share {m['mono_ratio']}). Load one language or pair with\n\n"
        "```python\nimport datasets\n"
        f"ds = datasets.load_dataset(BUILD_DIR, \"{config_names(m)[0][0] if config_names(m) else 'mono-en'}\", split=\"train\")\n"
        "```\n\nor follow the schedule with `mt_aug.read_batches(BUILD_DIR)`.\n"
    )
    cv = m["code_version"]
    model_rows = [[lang, x["backend"], f"`{x['model']}`", json.dumps(x["decoding"], sort_keys=True)]
                  for lang, x in sorted(m["models"].items())]
    parts.append(
        "## Provenance\n\n"
        f"- config hash: `{m['config_hash']}`\n"
        f"- mt-aug {cv.get('version')} (git {cv.get('git_commit') or 'unknown'})\n"
        f"- Prefect flow run: {m.get('flow_run_id') or 'none'}\n"
        f"- seed: {m['seed']}; started {m.get('started_at')}; finished {m.get('finished_at')}; host {m.get('host')}\n\n"
        + _table(["language", "backend", "model", "decoding"], model_rows) + "\n"
    )
    src_rows = [[n, s["read"], s["kept"], _fmt_counts(s["dropped"]), s.get("license") or "unknown",
                 s.get("citation") or ""] for n, s in sorted(m["sources"].items())]
    parts.append("## Sources\n\n" + _table(["source", "read", "kept", "dropped (reason: n)", "license", "citation"],
                                            src_rows) + "\n")
    tr_rows = [[lang, t["segments"], t["unique"], t["cached"], t["translated"], _fmt_counts(t["filtered"]),
                _fmt_counts(t["views_dropped"]), f"`{t['model']}`"] for lang, t in sorted(m["translation"].items())]
    parts.append("## Translation\n\n" + _table(
        ["language", "segments", "unique", "cache hits", "translated", "filtered segments", "views dropped", "model"],
        tr_rows) + "\n")
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
    b_rows = [[kind, g, n, m["leftovers"][kind].get(g, 0)] for kind in ("mono", "cross")
              for g, n in sorted(m["batches"][kind].items())]
    parts.append("## Batches\n\n" + _table(["kind", "language / pair", "batches", "leftover rows"], b_rows) + "\n")
    f_rows = [[f"`{f['path']}`", f["rows"], f["batches"], f"`{f['sha256']}`"] for f in m["files"]]
    parts.append("## Files\n\n" + _table(["file", "rows", "batches", "sha256"], f_rows) + "\n")
    ex = m.get("examples") or []
    if ex:
        ex_rows = [[e["batch_id"], e["query_lang"], e["passage_lang"], e["query"][:120],
                    e["passage"][:160].replace("|", "/") + "..."] for e in ex]
        parts.append("## Examples\n\n" + _table(["batch", "query lang", "passage lang", "query", "passage"],
                                                  [[str(c).replace("|", "/") for c in r] for r in ex_rows]) + "\n")
    parts.append(
        "## Limitations\n\n"
        "- Non-English text is machine translation: expect translation errors, especially in names, "
        "numbers and rare words; quality filters remove only detectable failures.\n"
        "- Decontamination removes exact and long n-gram overlap with the configured evaluation sets only; "
        "paraphrases of evaluation questions and evaluation sets not listed here are not removed.\n"
        "- Licenses of the sources carry over to this build (see Sources).\n"
    )
    return "\n".join(parts)


def write_card(build_dir: Path, manifest: dict[str, Any]) -> Path:
    path = build_dir / "README.md"
    path.write_text(render(manifest), encoding="utf-8")
    return path
