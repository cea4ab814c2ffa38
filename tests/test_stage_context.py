"""The stage contract: `run(ctx, cfg, inputs)`, typed inputs and outputs, the executor and the
caches reached only through the stage context, and work units placed by their Resources
(the Dask test starts a Prefect flow on a local Dask cluster whose worker declares a GPU)."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, get_args, is_typeddict

import pytest

from mt_aug.config import ModelSpec, QEConfig
from mt_aug.core.executor import LocalUnits, Resources, per_unit
from mt_aug.pipeline.release_stages import DevStage, PackStage, WriteStage
from mt_aug.pipeline.stage import Stage
from mt_aug.pipeline.stages import SOURCE_STAGES
from mt_aug.pipeline.target_stages import QualityStage, TranslateStage
from mt_aug.quality.qe import qe_resources
from mt_aug.translation.engine import unit_resources

STAGE_CLASSES: list[type[Stage[Any, Any]]] = [*(type(s) for s in SOURCE_STAGES), TranslateStage, QualityStage,
                                              DevStage, PackStage, WriteStage]


def test_no_stage_is_built_with_an_executor_a_cache_or_a_callback() -> None:
    """What a stage's constructor takes shapes it (a language, the target languages); the
    executor, the caches, the progress callback and the build come with `ctx`."""
    for cls in STAGE_CLASSES:
        params = set(inspect.signature(cls.__init__).parameters) - {"self", "args", "kwargs"}
        assert params <= {"lang", "target_languages"}, (cls.__name__, params)
        assert list(inspect.signature(cls.run).parameters) == ["self", "ctx", "cfg", "inputs"], cls.__name__


def test_inputs_and_outputs_are_the_keys_of_the_stages_typed_dicts() -> None:
    for cls in STAGE_CLASSES:
        bases = cls.__orig_bases__  # type: ignore[attr-defined]
        (base,) = [b for b in bases if getattr(b, "__origin__", None) is Stage]
        typed_in, typed_out = get_args(base)
        assert is_typeddict(typed_in) and is_typeddict(typed_out), cls.__name__
        assert cls.outputs == tuple(typed_out.__annotations__), cls.__name__
        if cls not in (PackStage, DevStage):  # shaped by the languages: named per language (bind)
            assert cls.inputs == tuple(typed_in.__annotations__), cls.__name__
    pack, quality = PackStage(["pt", "de"]), QualityStage("de")
    assert pack.inputs == ("pairs", "texts-pt", "texts-de") and quality.outputs == ("texts-de", "dev-de")
    got = pack.bind({"pairs": "P", "texts-pt": "T1", "texts-de": "T2", "other": "x"})
    assert got == {"pairs": "P", "texts": {"pt": "T1", "de": "T2"}}
    assert quality.unbind({"texts": "T", "dev": None}) == {"texts-de": "T", "dev-de": None}


def test_units_declare_what_they_need() -> None:
    assert unit_resources(ModelSpec(threads=4)) == Resources(cpus=4.0, gpus=0.0)
    assert unit_resources(ModelSpec(backend="ctranslate2", model="m", device="cuda")).gpus == 1.0
    assert qe_resources(QEConfig(backend="embedding", model="m", threshold=0.5, device="cuda")) == Resources(1.0, 1.0)
    assert Resources(gpus=1).tags() == ("mt-aug-unit", "mt-aug-gpu")
    assert per_unit(Resources(), 2) == [Resources(), Resources()]
    with pytest.raises(ValueError, match="2 Resources for 3 units"):
        list(LocalUnits().map_units(str, [1, 2, 3], name="x", resources=[Resources(), Resources()]))


def test_prefect_placement_of_a_unit() -> None:
    from flows.executor import dask_resources, ray_options, retry_unless_user_error
    from mt_aug.errors import UserError

    gpu = Resources(cpus=2, gpus=1)
    assert dask_resources(gpu, {"GPU"}) == {"GPU": 1} and dask_resources(gpu, {"GPU", "CPU"}) == {"CPU": 2, "GPU": 1}
    assert dask_resources(gpu, set()) == {}  # a cluster that declares nothing: no annotation (it would wait forever)
    assert dask_resources(Resources(cpus=2), {"GPU"}) == {}
    assert ray_options(gpu) == {"num_cpus": 2, "num_gpus": 1}

    class State:
        def __init__(self, exc: BaseException) -> None:
            self.exc = exc

        def result(self, raise_on_failure: bool = True) -> BaseException:
            return self.exc

    assert retry_unless_user_error(None, None, State(RuntimeError("worker lost")))
    assert retry_unless_user_error(None, None, State(ConnectionError("the Hub did not answer")))
    assert not retry_unless_user_error(None, None, State(UserError("quality.qe.model: cannot load")))


def _free_gpus(_: int) -> float:
    from distributed import get_worker

    return float(get_worker().state.available_resources.get("GPU", -1))


def test_a_gpu_unit_holds_the_dask_workers_gpu(prefect_harness, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """On a Dask cluster whose worker declares `GPU=1`, a unit that needs a GPU is annotated
    with it (the worker has none left while it runs; one unit at a time), a CPU unit is not; a cluster that
    declares no GPU runs both (nothing left out waits forever)."""
    from prefect import flow
    from prefect_dask import DaskTaskRunner

    from flows.executor import PrefectExecutor

    def probe(resources: dict[str, float] | None) -> dict[int, float]:
        kw = {"n_workers": 1, "threads_per_worker": 1, "processes": False, "dashboard_address": None}

        @flow(task_runner=DaskTaskRunner(cluster_kwargs={**kw, **({"resources": resources} if resources else {})}),
              persist_result=False)
        def placed() -> dict[int, float]:
            units = PrefectExecutor(None).map_units(_free_gpus, [0, 1], name="probe",
                                                    resources=[Resources(gpus=1), Resources()])
            return dict(units)

        return placed()

    assert probe({"GPU": 1}) == {0: 0.0, 1: 1.0}
    assert probe(None) == {0: -1.0, 1: -1.0}
