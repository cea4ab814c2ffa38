"""Run OpusFilter's usual MT-cleaning filters on (source, translation) pairs; runs inside a
separate environment (OpusFilter pins lingua 2.2 and numpy 2.5, which the project's lock does
not allow). Reads JSON lines {"src": ..., "tgt": ...} on stdin, writes one JSON line per pair:
{filter name: accepted} plus "seconds" per filter on the last line."""

import json
import sys
import time

from opusfilter.filters import (CharacterScoreFilter, LanguageIDFilter, LengthRatioFilter,
                                NonZeroNumeralsFilter, TerminalPunctuationFilter)

src_lang, tgt_lang = sys.argv[1], sys.argv[2]
pairs = [json.loads(line) for line in sys.stdin if line.strip()]
segs = [(p["src"], p["tgt"]) for p in pairs]
filters = {
    # the defaults of each filter (LanguageIDFilter: py3langid, threshold 0)
    "LengthRatioFilter": LengthRatioFilter(threshold=3, unit="word"),
    "LanguageIDFilter": LanguageIDFilter(languages=[src_lang, tgt_lang]),
    "NonZeroNumeralsFilter": NonZeroNumeralsFilter(threshold=0.5),
    "TerminalPunctuationFilter": TerminalPunctuationFilter(threshold=-2),
    "CharacterScoreFilter": CharacterScoreFilter(scripts=["Latin", "Latin"], thresholds=[1, 1]),
}
results = [{} for _ in segs]
seconds = {}
for name, f in filters.items():
    t0 = time.perf_counter()
    for i, score in enumerate(f.score(segs)):
        results[i][name] = bool(f.accept(score))
    seconds[name] = time.perf_counter() - t0
for r in results:
    print(json.dumps(r))
print(json.dumps({"seconds": seconds}))
