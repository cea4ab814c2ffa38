"""Wrong word sense: an English word with two common senses, rendered in the target language by
the sense the source's context rules out ("who played hermione in harry potter" -> "que jogou
hermione": played as in a game, not as an actor). A rule per (word, target language): the word's
forms, the target's words of the wrong sense, cues in the source that the other sense is meant,
and cues that the rendered sense is meant after all (which win). A target language joins after
its rules were measured on labelled output (BENCHMARKS.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mt_aug.quality.signal import Case, Signal


@dataclass(frozen=True)
class SenseRule:
    word: str  # for the evidence
    source: re.Pattern[str]  # the English word's forms
    wrong: re.Pattern[str]  # the target's words of the sense the cues rule out
    meant: tuple[re.Pattern[str], ...]  # cues in the source that the other sense is meant (any)
    unless: re.Pattern[str]  # cues that the rendered sense is meant after all

    def fires(self, source: str, output: str) -> bool:
        return bool(self.source.search(source) and self.wrong.search(output)
                    and any(c.search(source) for c in self.meant) and not self.unless.search(source))


_I = re.IGNORECASE
# "play" as acting (a role, a character; "who played X [in Y]", "played by NAME"), rendered as
# playing a game ("jogar"). Sports, games and fixtures in the source say the game is meant.
_PLAY_ACTED = SenseRule(
    word="play",
    source=re.compile(r"\bplay(?:s|ed|ing)?\b", _I),
    wrong=re.compile(r"\bjog(?:a|am|as|ou|aram|ava|avam|ado|ada|ados|adas|ar|ando|ará|ariam?)\b", _I),
    meant=(
        re.compile(r"\bplay(?:s|ed|ing)? (?:the |a |his |her )?(?:role|part|character|title role)s?\b", _I),
        re.compile(r"\bplayed by [A-Z]"),  # a person's name
        re.compile(r"^\W*who (?:played|plays|play|has played|is playing|will play) (?!(?:in|for|against|at|on|with|"
                   r"as|the most|most|first|last|best|better|well|professionally|alongside|under|during)\b)\w+", _I),
        re.compile(r"\b(?:actor|actress|actors|role|roles|character|characters|film|films|movie|movies|cast|"
                   r"starring|sitcom|episode|episodes|musical|broadway|stage|theatre|theater|tv series|soap opera)\b",
                   _I),
    ),
    unless=re.compile(r"\b(?:football|soccer|basketball|baseball|hockey|tennis|golf|chess|cricket|rugby|volleyball|"
                      r"handball|poker|cards|video ?games?|games?|match(?:es)?|league|cup|championship|tournament|"
                      r"olympics?|super bowl|world series|final|semifinal|sports?|team|teams|club|quarterback|"
                      r"striker|goalkeeper|pitcher|midfielder|defender|nba|nfl|mlb|nhl|fifa|uefa|tonight|today|"
                      r"tomorrow|week|weekend|stadium|home games?|away)\b", _I),
)

SENSES: dict[str, tuple[SenseRule, ...]] = {"pt": (_PLAY_ACTED,)}


def wrong_senses(source: str, output: str, tgt: str) -> list[str]:
    """The source words of the rules of `tgt` rendered by the sense their context rules out."""
    return [r.word for r in SENSES.get(tgt, ()) if r.fires(source, output)]


class Sense(Signal):
    """`quality.sense`: "wrong sense", a word rendered by the sense its context rules out (targets
    with rules in `SENSES`)."""

    name = "sense"
    reasons = ("wrong sense",)

    @property
    def active(self) -> bool:
        return self.enabled and self.target.tgt in SENSES

    def check(self, case: Case) -> None:
        found = wrong_senses(case.source, case.text, self.target.tgt)
        if found:
            case.fail("wrong sense", f"sense of {found}")
