"""`benchmarks/quality.py --sealed PATH` reads the sealed set's format (rows + <stem>.strata.json)
and weights this gate's verdicts by the frozen gate's strata. On a tiny fake part written here
(no real sealed file is read)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

ROWS = [  # our own sentences and their Bergamot en->pt output (stored)
    ("drop", "bad", "The word Москва was painted on the side of the train.", "A palavra foi pintada no lado do trem."),
    ("drop", "good", "Moscow (Russian: Москва) lies on the Moskva River.", "Moscovo (em russo:) encontra-se no rio Moskva."),
    ("kept", "bad", "John Smith (born 3 March 1961) is an English footballer.",
     "John Smith (Londres, 3 de março de 1961) é um futebolista inglês."),
    ("kept", "good", "The match was postponed because of the rain.", "A partida foi adiada por causa da chuva."),
    ("kept", "bad", "He caught a bass in the lake near his cabin.", "Ele pegou um baixo no lago perto de sua cabine."),
    ("kept", "good", "The film was shot in black and white.", "O filme foi filmado em preto e branco."),
]


def test_the_sealed_format_is_read_and_weighted_by_the_frozen_strata(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                                     ) -> None:
    spec = importlib.util.spec_from_file_location("quality_bench", ROOT / "benchmarks" / "quality.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules["quality_bench"] = bench
    spec.loader.exec_module(bench)
    part = tmp_path / "part1.jsonl"
    part.write_text("".join(json.dumps({"id": f"r{i}", "genre": "wiki", "source": s, "output": o, "stratum": h,
                                        "label": lab, "reason": None}) + "\n"
                            for i, (h, lab, s, o) in enumerate(ROWS)), encoding="utf-8")
    (tmp_path / "part1.strata.json").write_text(json.dumps({"drop": 2, "kept": 40, "frozen_gate": "gate 5 (bd71541)"}))
    got = bench.sealed(part, tmp_path / "cache", roundtrip=False)
    out = capsys.readouterr().out
    assert "sealed.rows: 6 (2 drop, 4 kept)" in out and "sealed.frozen_gate: gate 5 (bd71541)" in out
    # the frozen gate: 1 of its 2 drops bad; 2 of 4 kept bad, each standing for 10 kept segments
    assert "sealed.frozen_gate.precision: 0.500" in out
    assert f"sealed.frozen_gate.recall: {1 / (1 + 40 * 2 / 4):.3f}" in out
    assert "sealed.frozen_gate.bad_among_kept: 0.500" in out
    # this gate keeps the gloss (a frozen drop) and drops the invented birthplace (a frozen keep)
    assert got["precision"]["value"] == pytest.approx(1.0) and got["strata"]["kept"]["dropped"] == 1
    assert got["recall"]["value"] == pytest.approx((1 + 10) / (1 + 20), abs=1e-4)
    (tmp_path / "part1.strata.json").unlink()
    with pytest.raises(SystemExit, match="part1.strata.json: missing"):
        bench.sealed(part, tmp_path / "cache", roundtrip=False)
