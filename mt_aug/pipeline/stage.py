"""The stage contract: what every build stage declares and returns.

Learned from datatrove's `PipelineStep` and NeMo Curator's stages: a stage is a small class
that names the inputs it reads and the outputs it writes, a `version` its author bumps when
its output changes, the libraries whose versions can change its output, and the resources it
needs. `run()` is a pure function of the config and its inputs: it returns its outputs, its
statistics and its drops (`StageResult`); the pipeline merges statistics, no stage mutates a
shared ledger.

A stage's cache key is derived, never kept by hand: name + version + its config section +
the fingerprints of its inputs (the keys of the upstream results, or the sha256 of the content
of the files it reads: mt_aug.core.fingerprint) + the versions of its libraries. Editing unrelated code does not throw a
cache away; a change of output is a version bump in the stage that changes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from mt_aug.config import BuildConfig
from mt_aug.core.executor import Resources
from mt_aug.core.fingerprint import file_fingerprint
from mt_aug.core.versions import library_version
from mt_aug.schema import Drop


@dataclass(frozen=True)
class StageResult:
    """What a stage returns: named outputs, statistics, drops (with reasons), warnings."""

    outputs: dict[str, Any]
    stats: dict[str, Any] = field(default_factory=dict)
    drops: tuple[Drop, ...] = ()
    warnings: tuple[str, ...] = ()

    def __getitem__(self, name: str) -> Any:
        return self.outputs[name]


class Stage:
    """Base class of build stages. Subclasses set the class attributes and `run`. A stage run
    once per target language (`quality-<lang>`) or shaped by the languages (`pack`) sets its
    `name`, `inputs` or `outputs` in `__init__`; references a stage needs besides its inputs
    (the executor, the opened caches) are constructor arguments too."""

    name: ClassVar[str]
    version: ClassVar[str] = "1"  # bump when the stage's output for the same inputs changes
    inputs: ClassVar[tuple[str, ...]] = ()  # names of upstream outputs it reads
    outputs: ClassVar[tuple[str, ...]] = ()  # names of the outputs it returns
    libraries: ClassVar[tuple[str, ...]] = ()  # distributions whose versions can change its output
    resources: ClassVar[Resources] = Resources()
    cache: ClassVar[Literal["result", "none"]] = "result"  # "none": cheap, or cached elsewhere

    def config_section(self, cfg: BuildConfig) -> Any:
        """The part of the config that decides this stage's output (JSON-able)."""
        return None

    def input_files(self, cfg: BuildConfig) -> list[Path]:
        """External files this stage reads (the sha256 of their content enters the key)."""
        return []

    def run(self, cfg: BuildConfig, inputs: dict[str, Any]) -> StageResult:
        raise NotImplementedError

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
