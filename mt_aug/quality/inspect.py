"""`mt-aug inspect`: a build's translations next to their English sources, dropped ones (from
drops.jsonl, with the gate's reason and evidence) and kept ones (from the shards).

What it prints comes from files anyone may have edited: every text is passed through
`mt_aug.terminal.shown` (terminal controls written as visible escapes), every record is checked
for the types it should have, and a shard path must stay inside the build (else one line,
naming the file and record)."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, replace
from itertools import zip_longest
from pathlib import Path

import pyarrow as pa

from mt_aug.buildfiles import inside_build
from mt_aug.schema import SOURCE_LANG
from mt_aug.terminal import shown


class InspectError(ValueError):
    """A build directory or option that cannot be inspected, phrased as `path: problem`."""


@dataclass(frozen=True, slots=True)
class Shown:
    kind: str  # dropped | kept
    id: str
    reason: str | None
    source: str
    translation: str
    note: str = ""
    views: int = 1  # dropped: the views (pairs) the same dropped segment took with it


def _manifest(build_dir: Path) -> dict:  # type: ignore[type-arg]
    path = build_dir / "manifest.json"
    try:
        m = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InspectError(f"{build_dir}: no manifest.json (not a build directory)") from None
    except OSError as exc:
        raise InspectError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise InspectError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except (json.JSONDecodeError, RecursionError) as exc:
        raise InspectError(f"{path}: invalid JSON: {exc}") from None
    if not isinstance(m, dict):
        raise InspectError(f"{path}: not a build manifest (a JSON {_kind(m)}, not an object)")
    if not isinstance(m.get("languages", []), list) or not isinstance(m.get("files", []), list):
        raise InspectError(f"{path}: `languages` and `files` must be lists")
    return m


def _kind(value: object) -> str:
    return {dict: "object", list: "list", str: "string", int: "number", float: "number", bool: "boolean",
            type(None): "null"}.get(type(value), type(value).__name__)


def dropped(build_dir: Path, lang: str, reason: str | None = None, n: int | None = None) -> list[Shown]:
    """The first n segments of `lang` the quality gate dropped, from drops.jsonl (reason: a
    substring of it), each once, with the number of views dropped for it (a passage sentence
    takes every question about its passage with it; a view names its first bad segment). The
    count reads the whole file."""
    groups: dict[tuple[str, str, str | None, str], Shown] = {}
    for s in _dropped_views(build_dir, lang, reason):
        key = (s.source, s.translation, s.reason, s.note)  # texts are cut at 200 characters: the evidence too
        if key in groups:
            groups[key] = replace(groups[key], views=groups[key].views + 1)
        elif n is None or len(groups) < n:
            groups[key] = s
    return list(groups.values())


def _dropped_views(build_dir: Path, lang: str, reason: str | None) -> Iterator[Shown]:
    path = build_dir / "drops.jsonl"
    if not path.is_file():
        return
    with open(path, encoding="utf-8") as f:
        quoted = json.dumps(lang)
        for n, line in enumerate(f, start=1):
            if quoted not in line:
                continue  # not this language's (its code, quoted, is in every row of it)
            try:
                d = json.loads(line)
            except (json.JSONDecodeError, RecursionError):
                raise InspectError(f"{path}: line {n}: invalid JSON") from None
            if not isinstance(d, dict):
                raise InspectError(f"{path}: line {n}: not a drop record (a JSON {_kind(d)}, not an object)")
            if d.get("lang") != lang or "segment" not in d:
                continue
            for key in ("segment", "output", "evidence", "reason"):
                if key in d and not isinstance(d[key], str):
                    raise InspectError(f"{path}: line {n}: `{key}` is a {_kind(d[key])}, not a string")
            r = d.get("reason", "").removeprefix("quality:")
            if reason is not None and reason.casefold() not in r.casefold():
                continue
            note = "; ".join(x for x in (d.get("evidence", ""), f"chrF {d['chrf']}" if "chrf" in d else "") if x)
            yield Shown("dropped", f"{d.get('source')}:{d.get('id')}", r, d["segment"], d.get("output", ""), note)


_COLUMNS = ["query", "query_lang", "passage", "passage_lang", "pair_id"]


def _rows(build_dir: Path, manifest: dict, pred) -> Iterator[dict]:  # type: ignore[no-untyped-def,type-arg]
    for i, f in enumerate(manifest.get("files", [])):
        if not isinstance(f, dict):
            raise InspectError(f"{build_dir / 'manifest.json'}: files[{i}]: not an object")
        if not pred(f):
            continue
        path = inside_build(build_dir, f.get("path"), InspectError, f"{build_dir / 'manifest.json'}: files[{i}].path")
        try:
            with pa.memory_map(str(path)) as src:
                for rb in pa.ipc.open_stream(src):
                    got = rb.select(_COLUMNS)
                    if any(not pa.types.is_string(t) for t in got.schema.types):
                        raise InspectError(f"{path}: columns {', '.join(_COLUMNS)} are not all strings")
                    yield from got.to_pylist()
        except (OSError, pa.ArrowException, KeyError) as exc:
            what = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise InspectError(f"{path}: not a readable shard ({what})") from None


def kept(build_dir: Path, manifest: dict, lang: str, n: int) -> list[Shown]:  # type: ignore[type-arg]
    """Up to n views of `lang` in the shards (the first rows, in file order) with the English
    question and passage of the same pair, where the build has them."""
    wanted: dict[str, dict] = {}  # type: ignore[type-arg]
    for row in _rows(build_dir, manifest, lambda f: f.get("kind") == "mono" and f.get("group") == lang):
        wanted.setdefault(row["pair_id"], row)
        if len(wanted) >= n:
            break
    english: dict[str, dict[str, str]] = {pid: {} for pid in wanted}
    for row in _rows(build_dir, manifest, lambda f: SOURCE_LANG in str(f.get("group", "")).split("-")):
        e = english.get(row["pair_id"])
        if e is None:
            continue
        if row["query_lang"] == SOURCE_LANG:
            e.setdefault("query", row["query"])
        if row["passage_lang"] == SOURCE_LANG:
            e.setdefault("passage", row["passage"])
        if all(len(v) == 2 for v in english.values()):
            break
    out = []
    for pid, row in wanted.items():
        e = english[pid]
        out.append(Shown("kept", pid, None, e.get("query", "(English question not in this build)"), row["query"]))
        out.append(Shown("kept", pid, None, e.get("passage", "(English passage not in this build)"), row["passage"]))
    return out


def inspect(build_dir: Path, lang: str, n: int = 20, reason: str | None = None) -> list[Shown]:
    """Dropped segments first (at most n), then kept ones (at most n pairs) unless a reason is asked for."""
    manifest = _manifest(build_dir)
    if lang not in manifest.get("languages", []) or lang == SOURCE_LANG:
        targets = [str(x) for x in manifest.get("languages", []) if x != SOURCE_LANG]
        raise InspectError(f"--lang: {lang!r} is not a target language of this build (it has {', '.join(targets)})")
    out = dropped(build_dir, lang, reason, n)
    if reason is None:
        out += kept(build_dir, manifest, lang, n)
    return out


def side_by_side(items: list[Shown], lang: str, width: int = 160, max_lines: int = 6) -> str:
    """Two columns, English on the left, the translation on the right, a header per item."""
    col = max(30, (width - 3) // 2)
    lines: list[str] = []
    for s in items:
        more = f" and {s.views - 1} more view{'s' if s.views > 2 else ''}" if s.views > 1 else ""
        head = f"[{s.kind}] {s.id}{more}" + (f"  reason: {s.reason}" if s.reason else "") + (f"  ({s.note})" if s.note else "")
        lines.append(shown(head))
        left = textwrap.wrap(shown(s.source), col)[:max_lines] or [""]
        right = textwrap.wrap(shown(s.translation), col)[:max_lines] or ["(empty)"]
        for i, (a, b) in enumerate(zip_longest(left, right, fillvalue="")):
            tag = (f"{SOURCE_LANG}: ", f"{lang}: ") if i == 0 else ("    ", "    ")
            lines.append(f"{tag[0]}{a:<{col}} | {tag[1]}{b}")
        lines.append("")
    return "\n".join(lines)
