"""What a signal of the quality gate is: one class per signal (in the module of what it checks),
registered in order in `mt_aug.quality.signals.SIGNALS`, each with

- `name`: its section under `quality:` (mt_aug.config.QualityConfig) and its name in the
  verdicts' cache key; `version`: bump it when the signal decides differently;
- `reasons`: the reasons it can give, in the order it gives them;
- `needs`: what the gate must fetch for it before judging: `lexicon` (the forward model's
  bilingual lexicon), `names` (source names translated alone by the forward model), `back`
  (the output translated back by the reverse model), `qe` (a quality-estimation score), `cosine`
  (an English embedding model's cosine of the source and the back-translation);
- `structural`: a cheap check of the output's shape; the first structural signal that fires
  is the whole verdict, and the costly look-ups are not made for that segment;
- `check(case)`: what it finds in one case, recorded with `case.fail(reason, evidence)`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from mt_aug import languages

if TYPE_CHECKING:
    from mt_aug.quality.lexicon import Lexicon

NEEDS = ("lexicon", "names", "back", "qe", "cosine")


@dataclass(frozen=True, slots=True)
class Target:
    """The language pair a gate judges and what it has at hand for it."""

    src: str
    tgt: str
    candidates: tuple[str, ...]  # the languages language ID chooses among
    lexicon: Lexicon | None = None

    @property
    def latin(self) -> bool:
        return languages.get(self.tgt).script == "Latn" if self.tgt in languages.LANGUAGES else True


@dataclass(slots=True)
class Case:
    """One (source, output) pair being judged, what was fetched for it, and what the signals found."""

    source: str
    text: str  # the output, stripped
    hit_length_limit: bool = False
    back: str | None = None  # its back-translation (where the round-trip runs)
    spans: Mapping[str, str] | None = None  # source name span -> its translation alone (where names are looked up)
    qe: float | None = None  # its quality-estimation score (where scored)
    cosine: float | None = None  # the round-trip cosine of source and back-translation (where scored)
    failed: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    evidence: list[str] = field(default_factory=list)

    def fail(self, reason: str, evidence: str | None = None) -> None:
        self.failed.append(reason)
        if evidence:
            self.evidence.append(evidence)


class Signal:
    """A signal of the gate (see the module's docstring); built per gate with its config section."""

    name: ClassVar[str]
    version: ClassVar[int] = 1
    reasons: ClassVar[tuple[str, ...]]
    structural: ClassVar[bool] = False
    uses: ClassVar[frozenset[str]] = frozenset()  # what it needs fetched (of NEEDS), whatever its settings

    def __init__(self, cfg: Any, target: Target) -> None:
        self.cfg, self.target = cfg, target

    @classmethod
    def section(cls, quality: Any) -> Any:
        """Its section of a QualityConfig."""
        return getattr(quality, cls.name)

    @property
    def enabled(self) -> bool:
        return bool(self.cfg.enabled)

    @property
    def needs(self) -> frozenset[str]:
        """What the gate must fetch for it (of NEEDS), when enabled."""
        return self.uses

    @property
    def active(self) -> bool:
        """It runs for this target with what the gate has: enabled, and with the lexicon if it
        needs one (the others it uses where they were fetched)."""
        return self.enabled and ("lexicon" not in self.needs or self.target.lexicon is not None)

    def settings(self) -> dict[str, Any]:
        """What of its config decides its verdicts for this target: part of the verdicts' key."""
        return dict(self.cfg.model_dump(mode="json", exclude={"enabled"}))

    def key(self) -> list[Any]:
        """[name, version, settings] (settings None when off: a switched-off signal's other
        settings decide nothing)."""
        return [self.name, self.version, self.settings() if self.enabled else None]

    def name_spans(self, source: str, text: str) -> Iterable[str]:
        """Source name spans it wants translated alone (asked only where the gate looks names up)."""
        return ()

    def check(self, case: Case) -> None:
        raise NotImplementedError
