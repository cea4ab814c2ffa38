"""Reading a config file: YAML, validation into BuildConfig with errors that name file and key,
and relative paths resolved against the config file's folder (so a scheduled run started from
any working directory reads the same files)."""

from __future__ import annotations

import logging
from pathlib import Path

import yaml
from pydantic import ValidationError

from mt_aug.config.checks import _check_backends, _check_files
from mt_aug.config.errors import ConfigError, _format_error, _format_loc, _loc_of_model_error
from mt_aug.config.models import BuildConfig, PathMap

log = logging.getLogger("mt_aug.config")


def load_config(path: str | Path, *, check_files: bool = True, output_dir: str | Path | None = None,
                cache_dir: str | Path | None = None) -> BuildConfig:
    """Read, validate and resolve a config file. Raises ConfigError naming file and key."""
    path = Path(path)
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{shown}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{shown}: is a directory, not a config file") from None
    except OSError as exc:
        raise ConfigError(f"{shown}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{shown}: not UTF-8 text: {exc}") from None
    try:
        raw = read_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{shown}: {where}invalid YAML: {problem}") from None
    except RecursionError:
        raise ConfigError(f"{shown}: invalid YAML: nested too deeply") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{shown}: (top level): must be a mapping of keys, got {type(raw).__name__}")
    deprecations: list[str] = []
    try:
        cfg = BuildConfig.model_validate(raw, context={"deprecations": deprecations})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = _format_loc(tuple(err["loc"]))
        msg = _format_error(err)
        if msg.startswith("[") and "] " in msg:
            idx, msg = msg[1:].split("] ", 1)
            loc = f"{loc}[{idx}]"
        elif loc == "(top level)" or err["type"] == "value_error":
            key, msg2 = _loc_of_model_error(msg)
            if key:
                loc, msg = (f"{loc}.{key}" if loc != "(top level)" else key), msg2
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{shown}: {loc}: {msg}{more}") from None
    _warn_deprecated(shown, deprecations)
    cfg = _resolve_paths(cfg, path.parent, output_dir)
    if cache_dir is not None:
        cfg = cfg.model_copy(update={"cache_dir": Path(cache_dir).resolve()})
    _check_backends(cfg, shown)
    if check_files:
        _check_files(cfg, shown)
    return cfg


_WARNED: set[tuple[str, str]] = set()


def _warn_deprecated(shown: str, notes: list[str]) -> None:
    """Each deprecated key of a config file, logged once per process (`validate`, `build` and the
    build flow all read the file): `cfg.yaml: quality.coverage_max_zipf is deprecated: use ...`."""
    for note in notes:
        if (shown, note) not in _WARNED:
            _WARNED.add((shown, note))
            log.warning("%s: %s", shown, note)


# Aliases (`*name`) may stand for at most this many nodes in all, counted as expanded: a
# config needs a few; an "alias bomb" (nine anchors of nine aliases each: 9**9 nodes) stands
# for hundreds of millions, which validation, hashing or printing would then expand.
MAX_ALIAS_NODES = 10_000
# Python refuses to convert integer strings longer than this (sys.get_int_max_str_digits).
MAX_INT_DIGITS = 4300


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, with aliases bounded by the nodes they stand for (MAX_ALIAS_NODES)
    and integers by their digits (a located error instead of Python's ValueError)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._alias_nodes = 0
        self._sizes: dict[int, int] = {}

    def _size(self, node: yaml.Node) -> int:
        """Nodes `node` stands for, aliases expanded (memoized: linear in the document)."""
        got = self._sizes.get(id(node))
        if got is not None:
            if got < 0:
                raise yaml.composer.ComposerError(None, None, "an alias refers to a node that contains it",
                                                  node.start_mark)
            return got
        self._sizes[id(node)] = -1
        if isinstance(node, yaml.MappingNode):
            n = 1 + sum(self._size(k) + self._size(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            n = 1 + sum(self._size(v) for v in node.value)
        else:
            n = 1
        self._sizes[id(node)] = n
        return n

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            node = self.anchors.get(event.anchor)  # type: ignore[attr-defined]
            if node is not None:
                self._alias_nodes += self._size(node)
                if self._alias_nodes > MAX_ALIAS_NODES:
                    raise yaml.composer.ComposerError(
                        None, None, f"aliases stand for more than {MAX_ALIAS_NODES} nodes (an alias bomb?); "
                        "write the values out", event.start_mark)
        return super().compose_node(parent, index)  # type: ignore[no-any-return]

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:  # type: ignore[override]
        digits = sum(c.isdigit() for c in str(node.value))
        if digits > MAX_INT_DIGITS:
            raise yaml.constructor.ConstructorError(
                None, None, f"an integer of {digits} digits (at most {MAX_INT_DIGITS})", node.start_mark)
        return super().construct_yaml_int(node)  # type: ignore[no-any-return]


_BoundedLoader.add_constructor("tag:yaml.org,2002:int", _BoundedLoader.construct_yaml_int)


def read_yaml(text: str) -> object:
    """`yaml.safe_load(text)` with aliases and integers bounded (_BoundedLoader)."""
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _resolve(base: Path, p: Path) -> Path:
    p = p.expanduser()
    return p if p.is_absolute() else (base / p).resolve()


def _resolve_map(base: Path, pm: PathMap | None) -> PathMap | None:
    if pm is None:
        return None
    if isinstance(pm, str):
        return pm if Path(pm).is_absolute() else str(base.resolve() / pm)
    return {lang: [_resolve(base, x) for x in p] if isinstance(p, list) else _resolve(base, p) for lang, p in pm.items()}


def _resolve_paths(cfg: BuildConfig, base: Path, output_dir: str | Path | None) -> BuildConfig:
    sources = [
        s.model_copy(update={k: _resolve(base, p) for k, p in s.input_files()}) for s in cfg.sources
    ]
    evals = [
        es.model_copy(update={k: _resolve_map(base, getattr(es, k)) for k in ("paths", "qrels", "corpus")})
        for es in cfg.eval_sets
    ]
    out = Path(output_dir).resolve() if output_dir is not None else _resolve(base, cfg.output_dir)
    return cfg.model_copy(
        update={
            "sources": sources,
            "eval_sets": evals,
            "output_dir": out,
            "cache_dir": _resolve(base, cfg.cache_dir),
        }
    )
