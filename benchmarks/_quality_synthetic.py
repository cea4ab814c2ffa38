"""Writes tests/data/quality/synthetic_pt.jsonl: deterministic corruptions of the good outputs
in own_pt.jsonl (a number changed, a name removed, cut in half, left untranslated, looping),
each labelled bad and synthetic. Run once; the file is committed."""

from __future__ import annotations

import json
import re
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "quality"


def corrupt(item: dict) -> list[dict]:  # type: ignore[type-arg]
    src, out, i = item["source"], item["output"], item["id"]
    res = []
    m = re.search(r"\d+", out)
    if m:
        n = m.group(0)
        other = str(int(n) + 7) if len(n) < 4 else n[0] + n[2] + n[1] + n[3:]
        if other != n:
            res.append({"kind": "number", "output": out[: m.start()] + other + out[m.end():]})
    names = [w for w in re.findall(r"\b[A-ZÁÉÍÓÚ][\wáéíóúãõç]+(?: [A-Z][\wáéíóúãõç]+)+", out) if w in src]
    if names:
        res.append({"kind": "entity", "output": re.sub(r"\s+", " ", out.replace(names[0], "")).strip()})
    words = out.split()
    if len(words) >= 8:
        res.append({"kind": "truncated", "output": " ".join(words[: len(words) // 2])})
    res.append({"kind": "untranslated", "output": src})
    if len(words) >= 4:
        res.append({"kind": "garbage", "output": " ".join(words[:4] + words[1:4] * 4)})
    return [{"id": f"{i}:{r['kind']}", "source": src, "output": r["output"], "label": "bad", "reason": r["kind"],
             "synthetic": True} for r in res]


def main() -> None:
    own = [json.loads(x) for x in (DATA / "own_pt.jsonl").read_text(encoding="utf-8").splitlines() if x]
    rows = [r for it in own if it["label"] == "good" for r in corrupt(it)]
    (DATA / "synthetic_pt.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                              encoding="utf-8")
    print(len(rows))


if __name__ == "__main__":
    main()
