"""The stage contract: what every build stage declares, is given and returns.

Learned from datatrove's `PipelineStep` and NeMo Curator's `ProcessingStage`: a stage is a
small class that names the inputs it reads and the outputs it writes, each a TypedDict
(`Stage[InputsOf, OutputsOf]`: the names are the TypedDict's keys, the types its values), a
`version` its author bumps when its output changes, and the libraries whose versions can
change its output. `run(ctx, cfg, inputs)` is given

- `ctx`, the `StageContext` the pipeline hands every stage (`Run` in mt_aug.pipeline.builder):
  the executor (`ctx.map_units`, `ctx.report`), the opened translation and verdict caches,
  the one translation path bound to both and to the executor's workers (`ctx.translate`,
  `ctx.translate_requests`), the caller's progress callback, and the build being written;
- `cfg`, the build's config;
- `inputs`, the upstream outputs it declared;

and returns a `StageResult`: its outputs, statistics, drops (with reasons) and warnings. The
pipeline merges the statistics; no stage mutates a shared ledger, opens a cache or makes an
executor of its own, and no stage knows which executor runs it.

Where work runs: a stage runs where its inputs are (the building process, on every executor:
it holds Arrow tables). The model work inside it (translation units, the quality gate's
back-translations, name look-ups and QE scoring) goes through `ctx` to the executor as work
units, each with the `Resources` it needs (mt_aug.core.executor: a backend's threads, a GPU
on `device: cuda`), by which the executor places it; a worker loads a model once and keeps it
for the next unit (what Curator's `setup()` does: mt_aug.translation.engine.shared_backend,
mt_aug.quality.qe.load_scorer).

A stage's cache key is derived, never kept by hand: name + version + its config section +
the fingerprints of its inputs (the keys of the upstream results, or the sha256 of the content
of the files it reads: mt_aug.core.fingerprint) + the versions of its libraries. Editing
unrelated code does not throw a cache away; a change of output is a version bump in the stage
that changes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar, Generic, Literal, TypedDict, TypeVar, cast, get_args, get_origin, is_typeddict

from mt_aug.config import BuildConfig, ModelSpec
from mt_aug.core.executor import Placement, Resources, UnitRunner
from mt_aug.core.fingerprint import file_fingerprint
from mt_aug.core.versions import library_version
from mt_aug.quality.verdict_cache import VerdictCache
from mt_aug.release.manifest import BuildInfo
from mt_aug.schema import Drop
from mt_aug.translation.base import Translation
from mt_aug.translation.cache import TranslationCache
from mt_aug.translation.engine import ProgressFn as SegmentsProgressFn
from mt_aug.translation.engine import Request, TranslateStats, Translator

InputsOf = TypeVar("InputsOf", bound=Mapping[str, object])
OutputsOf = TypeVar("OutputsOf", bound=Mapping[str, object])
U = TypeVar("U")
R = TypeVar("R")
K = TypeVar("K")

ProgressFn = Callable[[str, int, int], None]  # (what, done, total): the caller's progress callback


@dataclass(frozen=True)
class StageResult(Generic[OutputsOf]):
    """What a stage returns: its outputs, statistics, drops (with reasons), warnings."""

    outputs: OutputsOf
    stats: dict[str, Any] = field(default_factory=dict)
    drops: tuple[Drop, ...] = ()
    warnings: tuple[str, ...] = ()

    def __getitem__(self, name: str) -> Any:
        return self.outputs[name]


class NoInputs(TypedDict):
    """The inputs of a stage that reads none (eval-index, collect)."""


@dataclass
class StageContext:
    """What the pipeline hands every stage besides its config and inputs (`Run` in
    mt_aug.pipeline.builder makes one per build or plan). The caches are open for the whole
    build (`build()` opens them before any stage runs, so an unusable cache fails first); a
    plan has none (it translates nothing)."""

    executor: UnitRunner  # where work units run (the pipeline's Executor: LocalExecutor, PrefectExecutor)
    translations: TranslationCache | None = None
    verdicts: VerdictCache | None = None
    unit_size: int | None = None  # segments per translation work unit (translator.unit_size)
    progress: ProgressFn | None = None  # the caller's progress callback (`mt-aug build`, a flow)
    build: BuildInfo | None = None  # the build being written (its id, start time, config hash)
    run_id: str | None = None  # the orchestrator's id of this run (a Prefect flow run), for the manifest

    def map_units(self, fn: Callable[[U], R], units: Sequence[U], *, name: str,
                  resources: Placement = Resources()) -> Iterator[tuple[int, R]]:
        """Work units on the executor's workers (mt_aug.core.executor.UnitRunner.map_units)."""
        return self.executor.map_units(fn, units, name=name, resources=resources)

    def report(self, name: str, done: int, total: int, message: str) -> None:
        self.executor.report(name, done, total, message)

    @property
    def translation_cache(self) -> TranslationCache:
        if self.translations is None:
            raise RuntimeError("this stage needs the translation cache: build() opens it (a plan has none)")
        return self.translations

    @property
    def verdict_cache(self) -> VerdictCache:
        if self.verdicts is None:
            raise RuntimeError("this stage needs the verdict cache: build() opens it (a plan has none)")
        return self.verdicts

    @cached_property
    def translator(self) -> Translator:
        """The one translation path on this build's cache and the executor's workers."""
        return Translator(self.translation_cache, self.executor, unit_size=self.unit_size)

    def translate(self, segments: Sequence[str], spec: ModelSpec, src: str, tgt: str, *,
                  progress: SegmentsProgressFn | None = None) -> tuple[dict[str, Translation], TranslateStats]:
        """Segments in one direction (a TranslateFn: what the quality gate is given)."""
        return self.translator(segments, spec, src, tgt, progress=progress)

    def translate_requests(self, requests: dict[K, Request], *, progress: SegmentsProgressFn | None = None,
                           name: str = "translate") -> dict[K, tuple[dict[str, Translation], TranslateStats]]:
        """Several directions at once (the translate stage: every target language)."""
        return self.translator.requests(requests, progress=progress, name=name)  # type: ignore[type-var]


class Stage(Generic[InputsOf, OutputsOf]):
    """Base class of build stages: `class S(Stage[SIn, SOut])` with TypedDicts `SIn`, `SOut`
    (their keys become `inputs` and `outputs`), the class attributes, and `run`. A stage run
    once per target language (`quality-<lang>`) or shaped by the languages (`pack`, `dev`) sets
    its `name`, `inputs` or `outputs` in `__init__` and maps its named inputs and outputs to its
    typed ones (`bind`, `unbind`): its constructor takes what shapes it (a language, the target
    languages), never the executor, a cache or a callback (those are `ctx`'s)."""

    name: ClassVar[str]
    version: ClassVar[str] = "1"  # bump when the stage's output for the same inputs changes
    inputs: ClassVar[tuple[str, ...]] = ()  # names of upstream outputs it reads (InputsOf's keys)
    outputs: ClassVar[tuple[str, ...]] = ()  # names of the outputs it returns (OutputsOf's keys)
    libraries: ClassVar[tuple[str, ...]] = ()  # distributions whose versions can change its output
    cache: ClassVar[Literal["result", "none"]] = "result"  # "none": cheap, or cached elsewhere

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in cls.__dict__.get("__orig_bases__", ()):
            if get_origin(base) is Stage:
                typed_in, typed_out = get_args(base)
                if is_typeddict(typed_in) and "inputs" not in cls.__dict__:
                    cls.inputs = tuple(typed_in.__annotations__)
                if is_typeddict(typed_out) and "outputs" not in cls.__dict__:
                    cls.outputs = tuple(typed_out.__annotations__)

    def config_section(self, cfg: BuildConfig) -> Any:
        """The part of the config that decides this stage's output (JSON-able)."""
        return None

    def input_files(self, cfg: BuildConfig) -> list[Path]:
        """External files this stage reads (the sha256 of their content enters the key)."""
        return []

    def run(self, ctx: StageContext, cfg: BuildConfig, inputs: InputsOf) -> StageResult[OutputsOf]:
        raise NotImplementedError

    def bind(self, named: Mapping[str, Any]) -> InputsOf:
        """The pipeline's named outputs this stage declared, as its typed inputs."""
        return cast(InputsOf, {name: named[name] for name in self.inputs})

    def unbind(self, outputs: OutputsOf) -> dict[str, Any]:
        """The typed outputs under the names the pipeline (and the result store) know them by."""
        return dict(outputs)

    def execute(self, ctx: StageContext, cfg: BuildConfig, named: Mapping[str, Any]) -> StageResult[dict[str, Any]]:
        """What executors call: `run` on the typed inputs, its outputs named."""
        got = self.run(ctx, cfg, self.bind(named))
        return StageResult(self.unbind(got.outputs), got.stats, got.drops, got.warnings)

    def key(self, cfg: BuildConfig, input_keys: dict[str, str]) -> str:
        """The content key of this stage's result for this config and these inputs."""
        blob = json.dumps(
            {
                "stage": self.name,
                "version": self.version,
                "config": self.config_section(cfg),
                "inputs": dict(sorted(input_keys.items())),
                "files": [file_fingerprint(p) for p in self.input_files(cfg)],
                "libraries": {lib: library_version(lib) for lib in sorted(self.libraries)},
            },
            sort_keys=True,
            default=str,
        )
        return f"{self.name}-" + hashlib.sha256(blob.encode()).hexdigest()[:32]
