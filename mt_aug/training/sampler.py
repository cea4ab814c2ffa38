"""`HybridBatchSampler`: one packed batch of a build per training step, for
sentence-transformers' trainer and for a plain PyTorch DataLoader, on one process or many."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch.utils.data

from mt_aug.training.layout import BuildLayout, BuildLayoutError, Verify, batch_keys, load_layout
from mt_aug.training.order import EPS, EpochPlan, kind_counts, plan_epoch, spread


def detect_world_size() -> int:
    """The number of training processes: torch.distributed if initialised, else accelerate's
    state if created, else the WORLD_SIZE variable (torchrun, accelerate launch), else 1."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    try:
        from accelerate.state import PartialState

        if PartialState._shared_state:  # created (by a Trainer / Accelerator): don't create one here
            return int(PartialState().num_processes)
    except ImportError:
        pass
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def _word(x: int) -> int:
    """An integer as SeedSequence takes it (non-negative): a negative one (the seed of a build
    made before seeds were validated) as its 64-bit two's complement; others unchanged."""
    return x % 2**64 if x < 0 else x


class HybridBatchSampler(torch.utils.data.Sampler[list[int]]):
    """Yields lists of row indices into `mt_aug.training.train_dataset(build_dir)`, one packed
    batch per step.

    - epoch 0 on one process is the build's `schedule.arrow`, batch for batch;
    - epoch e > 0 is a new order drawn from (seed, e): each group's batches shuffled, groups
      spread out, mono and cross interleaved at the build's mono_ratio;
    - `mono_ratio=r` (0 <= r <= 1) draws a mix at another share from the same batches (the
      largest selection at share r; fewer steps; no batch twice in an epoch): ratio sweeps
      without a rebuild. 0.0 is every cross batch and no mono one (the paper's X-Y baseline),
      1.0 every mono batch and no cross one (X-X), each epoch reshuffled like any other;
    - with N processes (`world_size=N`, else detected: see `detect_world_size`) each kind is
      cut to a multiple of N (the surplus is counted in `dropped`) and the sequence is built
      in steps of N batches of one kind with no pair_id in two of them, so accelerate's
      `BatchSamplerShard` gives every rank a batch of the same kind and never pads;
    - a build packed with `group_by: [source]` (one source per batch) keeps its sources'
      shares in every epoch and mix, and on N processes every step has one source on all
      ranks too (each source of a kind cut to a multiple of N).

    Use it as `SentenceTransformerTrainingArguments(batch_sampler=sampler)` (the trainer
    calls it with its dataset and gets the sampler back) or as
    `DataLoader(train_dataset(build_dir), batch_sampler=sampler)`. Call `set_epoch(e)` before
    each epoch (trainers do; `trainer_callback()` also does where accelerate's wrappers don't
    forward it)."""

    def __init__(self, build_dir: str | Path, *, mono_ratio: float | None = None, seed: int | None = None,
                 world_size: int | None = None, verify: Verify = "full") -> None:
        self._args = {"build_dir": str(build_dir), "mono_ratio": mono_ratio, "seed": seed, "world_size": world_size,
                      "verify": verify}
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer)):
            raise BuildLayoutError(f"seed={seed!r}: must be an integer")
        if mono_ratio is not None and (isinstance(mono_ratio, bool) or not isinstance(mono_ratio, int | float)
                                       or not 0 <= mono_ratio <= 1):
            raise BuildLayoutError(f"mono_ratio={mono_ratio!r}: must be a number from 0 to 1 (0.0: cross "
                                   "batches only, 1.0: mono batches only)")
        if world_size is not None and world_size < 1:
            raise BuildLayoutError(f"world_size={world_size!r}: must be at least 1")
        self.layout: BuildLayout = load_layout(build_dir, verify)
        lay = self.layout
        self.batch_size = lay.batch_size
        self.drop_last = False  # every batch is whole; BatchSamplerShard reads this
        self.seed = lay.seed if seed is None else int(seed)  # any integer (a build's seed is >= 0)
        self._world = world_size
        self.override = mono_ratio is not None and abs(mono_ratio - lay.mono_ratio) > 1e-9
        self.mono_ratio = float(mono_ratio) if mono_ratio is not None else lay.mono_ratio
        if self.override:
            have = {"mono": bool(lay.is_mono.any()), "cross": bool((~lay.is_mono).any())}
            missing = [kind for kind, needed in self._needed().items() if needed and not have[kind]]
            if missing:
                raise BuildLayoutError(f"mono_ratio={mono_ratio}: {lay.build_dir} has no {missing[0]} batches "
                                       f"to draw that mix from")
            self._check_servable(self.world_size)
        self.epoch = 0
        self._plans: dict[tuple[int, int], EpochPlan] = {}
        self._keys: tuple[np.ndarray, np.ndarray] | None = None

    # -- pickling (checkpoints save the training args, this sampler among them): the arguments only
    def __getstate__(self) -> dict[str, Any]:
        return {"args": self._args, "epoch": self.epoch}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state["args"])  # type: ignore[misc]
        self.epoch = state["epoch"]

    @property
    def world_size(self) -> int:
        return self._world if self._world is not None else detect_world_size()

    @property
    def sampler(self) -> HybridBatchSampler:
        """Itself: accelerate's DataLoaderShard.set_epoch reaches a batch sampler wrapped in
        BatchSamplerShard only through `.batch_sampler.sampler.set_epoch`."""
        return self

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def plan(self, epoch: int | None = None) -> EpochPlan:
        epoch = self.epoch if epoch is None else int(epoch)
        world = self.world_size
        key = (epoch, world)
        if key not in self._plans:
            if len(self._plans) > 4:
                self._plans.clear()
            self._plans[key] = self._make_plan(epoch, world)
        return self._plans[key]

    def _make_plan(self, epoch: int, world: int) -> EpochPlan:
        lay = self.layout
        idx = np.arange(lay.num_batches)
        if epoch == 0:  # the build's schedule is the preferred order
            mono, cross = idx[lay.is_mono], idx[~lay.is_mono]
        else:
            rng = np.random.default_rng(np.random.SeedSequence([_word(self.seed), _word(epoch)]))
            # group_by: [source]: sources interleaved at their shares, each source's groups within it
            mono = spread(lay.group, idx[lay.is_mono], rng, lay.source)
            cross = spread(lay.group, idx[~lay.is_mono], rng, lay.source)
        if world == 1 and epoch == 0 and not self.override:
            return EpochPlan(idx, len(mono), len(cross), 0)  # schedule.arrow exactly
        pairs = passages = None
        if world > 1:
            if self._keys is None:
                pair_keys, passage_keys = batch_keys(lay, ("pair_id", "passage_id"))
                self._keys = (pair_keys, passage_keys)
            pairs, passages = self._keys
        if self.override:
            self._check_servable(world)
        return plan_epoch(mono, cross, self.mono_ratio, override=self.override, world=world, pair_keys=pairs,
                          passage_keys=passages, num_batches=lay.num_batches, lanes=lay.source)

    def _needed(self) -> dict[str, bool]:
        """The kinds the sampler's mix draws from: both, or only cross at 0.0, only mono at 1.0."""
        return {"mono": self.mono_ratio > EPS, "cross": self.mono_ratio < 1 - EPS}

    def _check_servable(self, world: int) -> None:
        """Another mix must keep at least one step of each kind it draws on `world` processes."""
        lay = self.layout
        n_mono, n_cross = int(lay.is_mono.sum()), int((~lay.is_mono).sum())
        m, c = kind_counts(n_mono, n_cross, self.mono_ratio)
        need = self._needed()
        if (need["mono"] and m < world) or (need["cross"] and c < world):
            short = "mono" if need["mono"] and m < world else "cross"
            per = f" per step of {world} processes" if world > 1 else ""
            raise BuildLayoutError(f"mono_ratio={self.mono_ratio}: {lay.build_dir} has {n_mono} mono and {n_cross} "
                                   f"cross batches, too few for one {short} batch{per} at that share")

    @property
    def dropped(self) -> int:
        """Batches of the build left out of the current epoch (another ratio, multiple of N, conflicts)."""
        return self.plan().dropped

    def batch_ids(self, epoch: int | None = None) -> list[str]:
        """The batch ids of an epoch, in order (what `__iter__` yields the rows of)."""
        return [self.layout.batch_id[b] for b in self.plan(epoch).order.tolist()]

    def __len__(self) -> int:
        return len(self.plan().order)

    def __iter__(self) -> Iterator[list[int]]:
        bs = self.batch_size
        for start in self.layout.start[self.plan().order].tolist():
            yield list(range(start, start + bs))

    # -- sentence-transformers: SentenceTransformerTrainingArguments(batch_sampler=<this>) --
    def __call__(self, dataset: Any, batch_size: int | None = None, drop_last: bool = False,
                 valid_label_columns: list[str] | None = None, generator: Any = None, seed: int = 0) -> HybridBatchSampler:
        """The trainer's batch-sampler factory: check the trainer's dataset and batch size against
        the build and return this sampler (its seed stays the sampler's, for resumable order)."""
        n = len(dataset)
        if n != self.layout.num_rows:
            raise BuildLayoutError(
                f"train_dataset has {n} rows, {self.layout.build_dir} has {self.layout.num_rows}: pass "
                "mt_aug.training.train_dataset(build_dir) (select_columns keeps its rows; shuffle/filter do not)")
        if batch_size is not None and batch_size != self.batch_size:
            raise BuildLayoutError(f"per_device_train_batch_size={batch_size}: the build's batches have "
                                   f"{self.batch_size} rows; set it to {self.batch_size}")
        return self

    def trainer_callback(self) -> Any:
        """A transformers TrainerCallback that sets this sampler's epoch at each epoch start. The
        Trainer does that itself except in an epoch resumed from a checkpoint on several
        processes (accelerate's SkipBatchSampler around BatchSamplerShard hides the sampler)."""
        from transformers import TrainerCallback

        sampler = self

        class _SetEpoch(TrainerCallback):
            def on_epoch_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
                sampler.set_epoch(math.floor((state.epoch or 0) + 1e-6))

        return _SetEpoch()
