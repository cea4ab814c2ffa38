"""The import structure of mt_aug (scripts/import_graph.py reads it from the source, with `ast`):
no cycle between its packages or between the modules of one package, no import inside a
function without a reason (an optional or heavy library of the short HEAVY list, or a module
that would load one), mt_aug never imports flows, and flows imports mt_aug's public modules only."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("import_graph", ROOT / "scripts" / "import_graph.py")
assert _spec is not None and _spec.loader is not None
ig = importlib.util.module_from_spec(_spec)
sys.modules["import_graph"] = ig  # dataclasses look their module up while the class is made
_spec.loader.exec_module(ig)


@pytest.fixture(scope="module")
def graph():  # type: ignore[no-untyped-def]
    return ig.load(ROOT)


def test_no_cycle_between_packages(graph) -> None:  # type: ignore[no-untyped-def]
    assert graph.package_cycles() == [], "packages import each other (imports inside functions count)"


def test_no_cycle_between_modules_of_a_package(graph) -> None:  # type: ignore[no-untyped-def]
    assert graph.module_cycles() == []


def test_every_import_inside_a_function_has_a_reason(graph) -> None:  # type: ignore[no-untyped-def]
    bad = [f"{i.importer}:{i.line} ({i.function}) imports {i.target}: {why}"
           for i, why, ok in graph.function_imports() if not ok]
    assert bad == [], "move these to module level (or, for a heavy optional library, add it to HEAVY with its " \
                      "reason):\n" + "\n".join(bad)


def test_the_heavy_list_is_short_and_every_entry_is_used(graph) -> None:  # type: ignore[no-untyped-def]
    assert len(ig.HEAVY) <= 20 and len(ig.LAZY_IMPORTERS) <= 2
    imported = {i.target.split(".")[0] for i in graph.imports}
    assert sorted(set(ig.HEAVY) - imported) == [], "HEAVY names libraries nothing imports"


def test_flows_and_mt_aug(graph) -> None:  # type: ignore[no-untyped-def]
    assert graph.flows_problems() == []
    assert any(i.importer.startswith("flows") and i.target.startswith("mt_aug") for i in graph.imports)


def test_the_analysis_finds_what_it_forbids(tmp_path: Path) -> None:
    """A package with a cycle dodged by an import inside a function, a module cycle, an import of
    flows and a lazy heavy import: each is found, and only the heavy one is allowed."""
    files = {
        "mt_aug/__init__.py": "",
        "mt_aug/a/__init__.py": "",
        "mt_aug/a/x.py": "from mt_aug.b.y import f\n\ndef g():\n    import torch\n    return torch\n",
        "mt_aug/b/__init__.py": "",
        "mt_aug/b/y.py": "def f():\n    from mt_aug.a.x import g\n    return g\n",
        "mt_aug/c/__init__.py": "",
        "mt_aug/c/p.py": "from mt_aug.c import q\n",
        "mt_aug/c/q.py": "from mt_aug.c import p\nimport flows.run\n",
        "flows/__init__.py": "",
        "flows/run.py": "from mt_aug.b.y import f\n",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    g = ig.load(tmp_path)
    assert g.package_cycles() == [["mt_aug.a", "mt_aug.b"]]
    assert g.module_cycles() == [["mt_aug.c.p", "mt_aug.c.q"]]
    found = {(i.importer, i.target): (why, ok) for i, why, ok in g.function_imports()}
    assert found[("mt_aug.a.x", "torch")][1] is True
    why, ok = found[("mt_aug.b.y", "mt_aug.a.x")]
    assert not ok and why == "dodges the package cycle mt_aug.b -> mt_aug.a -> mt_aug.b"
    problems = g.flows_problems()
    assert len(problems) == 2 and "mt_aug imports flows" in problems[0] and "mt_aug.b.y" in problems[1]


def test_the_command_line_loads_no_heavy_library() -> None:
    """`mt-aug --help` and every command start without torch, transformers, datasets, ... (each
    command loads its library when it runs); the pipeline loads none of them either."""
    code = ("import json, sys; import mt_aug.cli; cli = set(sys.modules); import mt_aug.pipeline; "
            f"heavy = {sorted(ig.HEAVY)!r}; "
            "print(json.dumps([[m for m in heavy if m in cli], [m for m in heavy if m in sys.modules]]))")
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    cli, pipeline = json.loads(got.stdout)
    assert cli == []
    assert sorted(pipeline) == ["blingfire", "sacremoses"]  # segmentation, which a build runs
