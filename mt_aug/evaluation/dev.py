"""A build's dev split as evaluation data: where its files are, per language.

`dev_paths(build_dir)` reads the build's manifest (no file is trusted that it does not list)
and returns the LAReQA file and the BEIR folder of every build language, so
`mt-aug evaluate --build BUILD` and a training script can evaluate on the split without
knowing the layout."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mt_aug.devsplit.files import beir_dir, lareqa_path
from mt_aug.evaluation.lareqa import LANG_PLACEHOLDER, EvalDataError
from mt_aug.release.manifest import read_manifest


@dataclass(frozen=True)
class DevPaths:
    build_dir: Path
    languages: list[str]  # the build's languages, English first as in the build
    lareqa: dict[str, Path]  # lang -> dev/lareqa/<lang>.json (empty: no source with answer spans)
    beir: dict[str, Path]  # lang -> dev/beir/<lang>/ (corpus.jsonl, queries.jsonl, qrels/test.tsv)

    @property
    def lareqa_pattern(self) -> str:
        """The LAReQA files as an `evaluate --paths` pattern."""
        return str(self.build_dir / lareqa_path(LANG_PLACEHOLDER))

    @property
    def beir_pattern(self) -> str:
        return str(self.build_dir / beir_dir(LANG_PLACEHOLDER))


def dev_paths(build_dir: str | Path) -> DevPaths:
    """The dev files of a build (a build folder or `<output_dir>/current`). EvalDataError when the
    folder is no build, or the build has no dev split (`dev_split:` was off)."""
    build_dir = Path(build_dir)
    if not build_dir.is_dir():
        raise EvalDataError(f"{build_dir}: no such build folder")
    m = read_manifest(build_dir, ("languages",), EvalDataError, " (not an mt-aug build?)")
    dev = m.get("dev")
    if not dev:
        raise EvalDataError(f"{build_dir}: the build has no dev split (build it with `dev_split: {{passages: N}}` "
                            "in its config)")
    listed = {f["path"] for f in dev.get("files", [])}
    langs = list(m["languages"])
    lareqa = {lang: build_dir / lareqa_path(lang) for lang in langs if lareqa_path(lang) in listed}
    beir = {lang: build_dir / beir_dir(lang) for lang in langs if f"{beir_dir(lang)}/corpus.jsonl" in listed}
    for p in [*lareqa.values(), *(b / "corpus.jsonl" for b in beir.values())]:
        if not p.is_file():
            raise EvalDataError(f"{p}: listed in {build_dir / 'manifest.json'} but missing")
    return DevPaths(build_dir, langs, lareqa, beir)
