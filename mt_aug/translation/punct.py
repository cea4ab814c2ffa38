"""Moses punctuation normalization, fast and exactly as sacremoses does it.

`FastPunctNormalizer(lang).normalize(text)` returns what
``sacremoses.MosesPunctNormalizer(lang=lang, pre_replace_unicode_punct=True).normalize(text)``
returns, for every text, about two orders of magnitude sooner. sacremoses stays the source of
the rules: they are read from a normalizer instance at construction, in its order, and each
is turned into the cheapest step that gives the same result:

- a literal pattern with a literal replacement becomes ``str.replace``;
- any other pattern is compiled once (sacremoses calls ``re.sub`` with the pattern string,
  paying the compile-cache lookup and template parsing on every call) and runs only when
  every substring it provably requires is in the text (the literal runs of its parsed
  pattern, found with ``in``); ``c+ -> c`` (collapse runs of spaces) becomes replacing
  ``cc`` by ``c`` while there is one;
- a rule runs only when its key (a rare character every match contains, e.g. ``(`` or
  ``“``, or a run ``"  "``) is in the text: one scan finds the keys present, so most
  sentences run no rule at all (see `FastPunctNormalizer`).

A rule skipped is one that cannot match, and a regex that does not match returns its input,
so each step returns what sacremoses' step returns: the output is identical by construction,
and tests/test_segment_speed.py checks it on generated and real text.
"""

from __future__ import annotations

import re
from functools import lru_cache

from sacremoses import MosesPunctNormalizer

try:  # Python 3.11+
    from re import _constants as _sre_c
    from re import _parser as _sre_parse
except ImportError:  # pragma: no cover - Python < 3.11
    import sre_constants as _sre_c  # type: ignore[no-redef]
    import sre_parse as _sre_parse  # type: ignore[no-redef]

# One step: (needles, pattern or None, old, new). With a pattern: when every needle is in the
# text, text = pattern.sub(new, text). Without: text = text.replace(old, new), once when
# `needles` is empty, else repeated while `old` is in the text (collapsing runs: `cc -> c`).
_Step = tuple[tuple[str, ...], "re.Pattern[str] | None", str, str]


def _required(parsed: list[tuple[object, object]]) -> list[str]:
    """Substrings that every match of a parsed pattern contains: its runs of literal
    characters, at the top level, inside plain groups and inside repeats of at least one."""
    out: list[str] = []
    run: list[str] = []
    for op, av in parsed:
        if op is _sre_c.LITERAL:
            run.append(chr(av))  # type: ignore[arg-type]
            continue
        if run:
            out.append("".join(run))
            run = []
        if op is _sre_c.SUBPATTERN:
            _group, add_flags, del_flags, sub = av  # type: ignore[misc]
            if not add_flags and not del_flags:
                out += _required(sub)
        elif op in (_sre_c.MAX_REPEAT, _sre_c.MIN_REPEAT):
            lo, _hi, sub = av  # type: ignore[misc]
            if lo >= 1:
                out += _required(sub)
    if run:
        out.append("".join(run))
    return out


def _step(pattern: str, repl: str) -> _Step:
    """The fastest step equal to ``re.sub(pattern, repl, text)`` (see the module docstring)."""
    parsed = _sre_parse.parse(pattern)
    flags = parsed.state.flags
    items = list(parsed)
    literal_repl = "\\" not in repl  # re.sub uses a replacement without backslashes as it is
    plain = not flags & (re.IGNORECASE | re.LOCALE)
    if plain and literal_repl and items and all(op is _sre_c.LITERAL for op, _ in items):
        return ((), None, "".join(chr(av) for _, av in items), repl)  # type: ignore[arg-type]
    if plain and literal_repl and len(items) == 1 and items[0][0] is _sre_c.MAX_REPEAT:
        lo, hi, sub = items[0][1]  # type: ignore[misc]
        if (lo == 1 and hi == _sre_c.MAXREPEAT and len(sub) == 1 and sub[0][0] is _sre_c.LITERAL
                and chr(sub[0][1]) == repl):
            # `c+ -> c` collapses each run of c to one c: so does replacing cc by c until none is left
            return ((repl * 2,), None, repl * 2, repl)
    needles = _required(items) if plain else []
    return (tuple(dict.fromkeys(n for n in needles if n)), re.compile(pattern), "", repl)


def _needles(step: _Step) -> tuple[str, ...]:
    """Substrings that must all be in a text for the step to change it."""
    needles, pattern, old, _new = step
    return needles if pattern is not None else (old,)


_COMMON = frozenset(" .,'-")  # punctuation in most English sentences


def _rarity(ch: str) -> int:
    """0 for characters rare in running text (most punctuation and symbols, non-ASCII), 1 for
    ASCII letters and digits, 2 for the space and the commonest punctuation."""
    if ch in _COMMON:
        return 2
    return 1 if ch.isascii() and ch.isalnum() else 0


def _key(step: _Step) -> str | None:
    """What a text must contain for the step to change it, as cheap to look for as possible:
    the rarest character of its needles when that one is rare, else its longest needle
    (``"  "``, ``"''"``); None for a step without needles (it may change any text)."""
    needles = _needles(step)
    if not needles:
        return None
    best = min((c for n in needles for c in n), key=lambda c: (_rarity(c), c.isascii(), c))
    if _rarity(best) == 0:
        return best
    return max(needles, key=lambda n: (len(n), n))


class FastPunctNormalizer:
    """Exact, fast stand-in for ``MosesPunctNormalizer(lang=lang, pre_replace_unicode_punct=True)``.

    Each rule becomes a step with a key (`_key`): a character, or a short string such as
    ``"  "``, that is in every text the step changes. `normalize` finds the keys in the text
    (one regex scan for the characters, ``in`` for the strings), then runs, in order, only the
    steps whose key is there. The set of keys found only grows: after a step changes the text it adds the keys
    the step may have written (characters of its replacement) and re-checks the
    multi-character keys (a deletion or an insertion can make one, e.g. join two spaces). So
    a step skipped is one whose key is not in the text at that point: it cannot change it."""

    def __init__(self, lang: str = "en") -> None:
        ref = MosesPunctNormalizer(lang=lang, pre_replace_unicode_punct=True)
        if ref.post_remove_control_chars:  # pragma: no cover - not set by these arguments
            raise ValueError("post_remove_control_chars is not supported")
        rules = list(ref.REPLACE_UNICODE_PUNCTUATION) if ref.pre_replace_unicode_punct else []
        rules += list(ref.substitutions)
        self.lang = lang
        self.steps: tuple[_Step, ...] = tuple(_step(p, r) for p, r in rules)
        keys = [_key(s) for s in self.steps]
        self._always = 0  # steps without a key: always run
        self._mask: dict[str, int] = {}  # key -> the steps it enables, one bit each, bit i = step i
        for i, k in enumerate(keys):
            if k is None:
                self._always |= 1 << i
            else:
                self._mask[k] = self._mask.get(k, 0) | 1 << i
        chars = sorted(k for k in self._mask if len(k) == 1)
        self._runs: tuple[str, ...] = tuple(sorted(k for k in self._mask if len(k) > 1))
        self._scan = re.compile("[" + "".join(re.escape(c) for c in chars) + "]") if chars else None
        # per step: the single-character keys it may write (any character of its replacement
        # string, a superset of what a template writes; group references copy text already seen)
        self._writes: tuple[tuple[str, ...], ...] = tuple(
            tuple(c for c in chars if c in s[3]) for s in self.steps
        )

    def normalize(self, text: str) -> str:
        """Exactly ``MosesPunctNormalizer(lang, pre_replace_unicode_punct=True).normalize(text)``."""
        text = str(text)
        masks = self._mask
        found = set(self._scan.findall(text)) if self._scan is not None else set()
        for k in self._runs:
            if k in text:
                found.add(k)
        todo = self._always
        for k in found:
            todo |= masks[k]
        while todo:
            low = todo & -todo
            todo ^= low
            i = low.bit_length() - 1
            needles, pattern, old, new = self.steps[i]
            before = text
            if pattern is not None:
                for n in needles:
                    if n not in text:
                        break
                else:
                    text = pattern.sub(new, text)
            elif not needles:
                text = text.replace(old, new)
            else:
                while old in text:
                    text = text.replace(old, new)
            if text is before or text == before:
                continue
            later = ~((low << 1) - 1)
            for k in self._writes[i]:
                if k not in found:
                    found.add(k)
                    todo |= masks[k] & later
            for k in self._runs:
                if k not in found and k in text:
                    found.add(k)
                    todo |= masks[k] & later
        return text.strip()


@lru_cache(maxsize=16)
def fast_normalizer(lang: str = "en") -> FastPunctNormalizer:
    """The normalizer for a language, built once."""
    return FastPunctNormalizer(lang)
