"""The release guard: a build that would publish a broken corpus fails before `current` moves.

A pure function of a build's accounting (no files, no Prefect): per source how many records
were read, kept and dropped by reason; per target language how many views were kept and
dropped by reason; the total rows; and the thresholds of the config's `guards:` section.

- no rows at all: failure ("the build has no rows");
- a source that lost more than `guards.max_malformed_fraction` (default 0.5) of its records as
  malformed: failure, naming the source, its top drop reasons and its first malformed record;
- a language that lost more than the quality threshold of its views to the quality gate:
  a warning (recorded in the manifest and the card) at 0.5 by default; a failure when the
  config sets `guards.max_quality_drop_fraction` (then that value is the threshold);
- a source that read no record at all: a warning.

Failure messages are one line each, ready for `mt-aug: error: <message>`; the most specific
first (a source, then a language, then "no rows"), since that is what the user must fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MALFORMED = "malformed record"  # the reason readers give (mt_aug.readers.common.MALFORMED)
QUALITY_PREFIX = "quality:"  # view drops by the translation quality gate
# Warn-only threshold of quality drops when the config does not set one.
DEFAULT_QUALITY_WARN_FRACTION = 0.5


class GuardFailed(RuntimeError):
    """The build must not be published; str() is the one-line reason (several joined by '; ')."""

    def __init__(self, failures: list[str]) -> None:
        super().__init__(failures[0] if len(failures) == 1 else
                         f"{failures[0]} (and {len(failures) - 1} more: {'; '.join(failures[1:])})")
        self.failures = failures


@dataclass(frozen=True)
class SourceAccount:
    """What one source's records became."""

    read: int
    kept: int
    dropped: Mapping[str, int] = field(default_factory=dict)
    first_error: str | None = None  # the first malformed record's message, as evidence


@dataclass(frozen=True)
class LanguageAccount:
    """What one target language's views became (views kept + dropped = pairs that reached it)."""

    views: int
    dropped: Mapping[str, int] = field(default_factory=dict)

    @property
    def quality_dropped(self) -> int:
        return sum(n for r, n in self.dropped.items() if r.startswith(QUALITY_PREFIX))

    @property
    def total(self) -> int:
        return self.views + sum(self.dropped.values())


@dataclass(frozen=True)
class GuardResult:
    failures: list[str]
    warnings: list[str]

    @property
    def ok(self) -> bool:
        return not self.failures

    def raise_for_failures(self) -> None:
        if self.failures:
            raise GuardFailed(self.failures)


def top_reasons(dropped: Mapping[str, int], n: int = 3) -> str:
    """'reason: count, ...' of the most frequent reasons (ties by name), or 'none'."""
    items = sorted(((r, c) for r, c in dropped.items() if c), key=lambda rc: (-rc[1], rc[0]))[:n]
    return ", ".join(f"{r}: {c}" for r, c in items) or "none"


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def check(
    sources: Mapping[str, SourceAccount],
    languages: Mapping[str, LanguageAccount],
    rows: int,
    *,
    max_malformed_fraction: float = 0.5,
    max_quality_drop_fraction: float | None = None,
    leftover_rows: int = 0,
) -> GuardResult:
    """Failures and warnings of a build's accounting (see the module docstring)."""
    failures: list[str] = []
    warnings: list[str] = []
    for name, s in sources.items():
        if s.read == 0:
            warnings.append(f"source {name!r}: no records read (an empty input?)")
            continue
        bad = s.dropped.get(MALFORMED, 0)
        if bad / s.read > max_malformed_fraction:
            first = f"; first: {s.first_error}" if s.first_error else ""
            failures.append(
                f"source {name!r}: {bad} of {s.read} records ({_pct(bad / s.read)}) are malformed, more than "
                f"guards.max_malformed_fraction {max_malformed_fraction}; top drop reasons: "
                f"{top_reasons(s.dropped)}{first}")
    limit = DEFAULT_QUALITY_WARN_FRACTION if max_quality_drop_fraction is None else max_quality_drop_fraction
    for lang, a in languages.items():
        if a.total == 0:
            continue
        frac = a.quality_dropped / a.total
        if frac > limit:
            what = (f"language {lang!r}: the quality gate dropped {a.quality_dropped} of {a.total} views "
                    f"({_pct(frac)}), more than {limit}; top drop reasons: {top_reasons(a.dropped)}")
            if max_quality_drop_fraction is None:
                warnings.append(what + " (set guards.max_quality_drop_fraction to fail such a build)")
            else:
                failures.append(what.replace(f"more than {limit}", f"more than guards.max_quality_drop_fraction {limit}"))
    if rows == 0:
        kept = sum(s.kept for s in sources.values())
        dropped: dict[str, int] = {}
        for s in sources.values():
            for r, c in s.dropped.items():
                dropped[r] = dropped.get(r, 0) + c
        read = sum(s.read for s in sources.values())
        views: dict[str, int] = {}
        for a in languages.values():
            for r, c in a.dropped.items():
                views[r] = views.get(r, 0) + c
        why = f"; views dropped: {top_reasons(views)}" if views else ""
        if leftover_rows:
            why += f"; {leftover_rows} view(s) left over (too few to fill a batch)"
        failures.append(f"the build has no rows: {read} records read, {kept} pairs kept; top drop reasons: "
                        f"{top_reasons(dropped)}{why}")
    return GuardResult(failures, warnings)


def accounts_from_manifest(manifest: Mapping[str, Any]) -> tuple[dict[str, SourceAccount], dict[str, LanguageAccount], int]:
    """The guard's inputs from a manifest (its `sources`, `translation` and `counts.rows`)."""
    sources = {name: SourceAccount(int(s["read"]), int(s["kept"]), dict(s.get("dropped") or {}),
                                   s.get("first_error"))
               for name, s in manifest.get("sources", {}).items()}
    langs = {lang: LanguageAccount(int(t.get("views", 0)), dict(t.get("views_dropped") or {}))
             for lang, t in manifest.get("translation", {}).items()}
    return sources, langs, int(manifest.get("counts", {}).get("rows", 0))


def check_manifest(manifest: Mapping[str, Any], guards: Any) -> GuardResult:
    """`check` over a manifest, with thresholds from a GuardConfig (or anything with the
    same attributes; None: the defaults)."""
    sources, langs, rows = accounts_from_manifest(manifest)
    got = check(sources, langs, rows,
                max_malformed_fraction=getattr(guards, "max_malformed_fraction", 0.5),
                max_quality_drop_fraction=getattr(guards, "max_quality_drop_fraction", None),
                leftover_rows=int(manifest.get("counts", {}).get("leftover_rows", 0)))
    # batching.group_by: [source]: a source whose views fill no batch is in no batch at all
    for name, sb in sorted((manifest.get("source_batches") or {}).items()):
        if name in sources and sources[name].kept and not sb.get("mono") and not sb.get("cross"):
            got.warnings.append(f"source {name!r}: its {sources[name].kept} kept pairs fill no batch of "
                                f"{manifest.get('batch_size')} rows of one source (batching.group_by: [source]): "
                                f"its {sb.get('leftover_rows', 0)} views are leftovers")
    return got


def first_errors(drops: Any) -> dict[str, str]:
    """The first malformed record's message per source, from Drop objects (the ledger's)."""
    out: dict[str, str] = {}
    for d in drops:
        if d.reason == MALFORMED and d.source not in out and "error" in d.detail:
            out[d.source] = str(d.detail["error"])
    return out
