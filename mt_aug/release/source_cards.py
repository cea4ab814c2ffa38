"""The cards of supported source datasets and eval sets (data_cards/ at the repo root)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

CARDS_DIR = Path(__file__).resolve().parents[2] / "data_cards"

# Hugging Face dataset names that correspond to a card.
HF_NAMES = {
    "squad": "squad-v1.1",
    "rajpurkar/squad": "squad-v1.1",
    "squad_v2": "squad-v2.0",
    "rajpurkar/squad_v2": "squad-v2.0",
    "ms_marco": "ms-marco",
    "microsoft/ms_marco": "ms-marco",
    "trivia_qa": "triviaqa",
    "mandarjoshi/trivia_qa": "triviaqa",
    "natural_questions": "natural-questions",
    "google-research-datasets/natural_questions": "natural-questions",
}


def read_front_matter(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---"):
        return {}
    _, fm, _ = text.split("---", 2)
    data = yaml.safe_load(fm)
    return data if isinstance(data, dict) else {}


@lru_cache(maxsize=1)
def all_cards() -> dict[str, dict[str, Any]]:
    if not CARDS_DIR.is_dir():
        return {}
    out = {}
    for path in sorted(CARDS_DIR.glob("*.md")):
        fm = read_front_matter(path)
        if "name" in fm:
            out[str(fm["name"])] = fm
    return out


def card_for(source_name: str, dataset: str | None = None) -> dict[str, Any] | None:
    cards = all_cards()
    if dataset and HF_NAMES.get(dataset) in cards:
        return cards[HF_NAMES[dataset]]
    return cards.get(source_name)
