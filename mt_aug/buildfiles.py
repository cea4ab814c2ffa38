"""What every reader of a published build trusts least: its manifest and the paths in it.

- `read_manifest(build_dir, required, error)`: manifest.json parsed as UTF-8 JSON, a JSON
  object whose fields have the types readers index into (`files` a list of objects with a
  string `path` and integer `rows`, `decontamination` an object, ...), or one `error` line
  naming the file and the field;
- `inside_build(build_dir, rel, error)`: a path read from a build's files (`files[].path`,
  the schedule's `file` column, `checksums` keys) as a path inside the build: relative, no
  `..`, and not leaving the build through a symbolic link. Every reader (verify, export,
  card, training, inspect) goes through it before opening or writing anything.

A bottom-level module (pydantic and the standard library only), so every stage can use it."""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

MANIFEST = "manifest.json"


class _Shape(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")


class _File(_Shape):
    path: str
    kind: str
    group: str
    rows: Annotated[int, Field(ge=0)]
    batches: Annotated[int, Field(ge=0)]
    sha256: str
    bytes: Annotated[int, Field(ge=0)] | None = None
    first_batch: str | None = None
    last_batch: str | None = None


class _Schedule(_Shape):
    path: str
    sha256: str
    steps: Annotated[int, Field(ge=0)]
    bytes: Annotated[int, Field(ge=0)] | None = None


class _EvalFile(_Shape):
    path: str
    sha256: str


class _EvalSet(_Shape):
    format: str | None = None
    files: dict[str, list[_EvalFile]] = Field(default_factory=dict)


class _Decontamination(_Shape):
    eval_sets: dict[str, _EvalSet] | None = None
    source: dict[str, dict[str, dict[str, Any]]] | None = None
    target: dict[str, dict[str, dict[str, Any]]] | None = None
    warnings: list[str] | None = None


class _Manifest(_Shape):
    """The types of the fields readers index into (each optional here: which fields a reader
    needs is its own `required`)."""

    format_version: int | None = None
    build_id: str | None = None
    name: str | None = None
    config_hash: str | None = None
    seed: int | None = None
    batch_size: Annotated[int, Field(ge=1)] | None = None
    mono_ratio: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    languages: list[str] | None = None
    columns: list[str] | None = None
    files: list[_File] | None = None
    schedule: _Schedule | None = None
    checksums: dict[str, str] | None = None
    counts: dict[str, int] | None = None
    batches: dict[str, dict[str, int]] | None = None
    leftovers: dict[str, dict[str, int]] | None = None
    views: dict[str, dict[str, int]] | None = None
    sources: dict[str, dict[str, Any]] | None = None
    translation: dict[str, dict[str, Any]] | None = None
    models: dict[str, dict[str, Any]] | None = None
    decontamination: _Decontamination | None = None
    drops: dict[str, dict[str, int]] | None = None
    guard: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    code_version: dict[str, Any] | None = None
    examples: list[dict[str, Any]] | None = None
    stages: dict[str, Any] | None = None


_TYPE_WORDS = {
    "dict_type": "should be an object", "model_type": "should be an object", "model_attributes_type":
    "should be an object", "list_type": "should be a list", "int_type": "should be an integer",
    "string_type": "should be a string", "float_type": "should be a number", "missing": "missing",
}


def _where(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def shape_problem(manifest: Any) -> str | None:
    """What is wrong with the types of a parsed manifest (`<field>: <what>`), or None."""
    if not isinstance(manifest, dict):
        return f"not a JSON object (a {type(manifest).__name__} at the top level)"
    try:
        _Manifest.model_validate(manifest)
    except ValidationError as exc:
        err = exc.errors()[0]
        what = _TYPE_WORDS.get(err["type"]) or err["msg"][:1].lower() + err["msg"][1:]
        return f"{_where(tuple(err['loc']))}: {what}"
    return None


def read_manifest(build_dir: str | Path, required: tuple[str, ...], error: type[Exception],
                  missing_hint: str = "", *, shown: str | None = None) -> dict[str, Any]:
    """A build's manifest.json, parsed and its shape checked, with the fields a reader needs;
    `error` (each reader's own type) names the file (its path, or `shown`) and what is wrong,
    in one line."""
    path = Path(build_dir) / MANIFEST
    where = shown if shown is not None else str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{where}: missing{missing_hint}") from None
    except IsADirectoryError:
        raise error(f"{where}: a directory, not a file") from None
    except OSError as exc:
        raise error(f"{where}: cannot read ({exc.strerror or exc})") from None
    try:
        m = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise error(f"{where}: not UTF-8 (byte offset {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise error(f"{where}: invalid JSON: {exc}") from None
    except RecursionError:
        raise error(f"{where}: invalid JSON: nested too deeply") from None
    problem = shape_problem(m)
    if problem:
        raise error(f"{where}: {problem}")
    missing = [k for k in required if k not in m]
    if missing:
        raise error(f"{where}: missing field {missing[0]!r}")
    return m


def inside_build(build_dir: str | Path, rel: Any, error: type[Exception], where: str = MANIFEST) -> Path:
    """`build_dir / rel` for a path `rel` read from a build's own files, refused (one `error`
    line naming `where` and the path) unless it stays inside the build: a non-empty relative
    POSIX path without `..`, that no symbolic link (of the file or of a folder on the way)
    takes out of the build folder. The build folder itself may be reached through links
    (`current`); it is resolved once, here."""
    if not isinstance(rel, str) or not rel or "\x00" in rel:
        raise error(f"{where}: {rel!r}: not a file path")
    pure = PurePosixPath(rel)
    if pure.is_absolute() or rel.startswith("\\") or ".." in pure.parts or (len(rel) > 1 and rel[1] == ":"):
        raise error(f"{where}: {rel!r}: a path outside the build folder (absolute or with '..')")
    root = Path(build_dir).resolve()
    path = root / pure
    real = Path(os.path.realpath(path))
    if real != root and root not in real.parents:
        raise error(f"{where}: {rel}: a symbolic link out of the build folder (to {real})")
    return path
