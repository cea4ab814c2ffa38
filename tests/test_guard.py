"""The release guard (issue 14, item 1): no empty corpus, no mostly-malformed source, quality
drops warned or failed as configured."""

from __future__ import annotations

import pytest

from mt_aug.config import BuildConfig, GuardConfig
from mt_aug.release.guard import (
    GuardFailed,
    LanguageAccount,
    SourceAccount,
    accounts_from_manifest,
    check,
    check_manifest,
    first_errors,
)
from mt_aug.schema import Drop


def test_a_build_with_no_rows_fails_naming_the_top_drop_reasons() -> None:
    got = check({"marco": SourceAccount(10, 0, {"malformed record": 7, "not relevant": 3})}, {}, rows=0,
                max_malformed_fraction=1.0)
    assert len(got.failures) == 1 and not got.ok
    msg = got.failures[0]
    assert msg.startswith("the build has no rows: 10 records read, 0 pairs kept")
    assert "malformed record: 7, not relevant: 3" in msg
    with pytest.raises(GuardFailed, match="no rows"):
        got.raise_for_failures()


def test_a_mostly_malformed_source_fails_with_its_first_error() -> None:
    sources = {
        "ok": SourceAccount(100, 90, {"malformed record": 10}),
        "qrels2": SourceAccount(4, 1, {"malformed record": 3}, first_error="qrels.tsv: line 1: expected 4 columns"),
    }
    got = check(sources, {}, rows=40)
    assert got.failures == [
        "source 'qrels2': 3 of 4 records (75%) are malformed, more than guards.max_malformed_fraction 0.5; "
        "top drop reasons: malformed record: 3; first: qrels.tsv: line 1: expected 4 columns"
    ]
    # exactly at the threshold is allowed; a stricter config fails the other source too
    assert check({"half": SourceAccount(4, 2, {"malformed record": 2})}, {}, rows=8).ok
    stricter = check(sources, {}, rows=40, max_malformed_fraction=0.05)
    assert [f.split(":")[0] for f in stricter.failures] == ["source 'ok'", "source 'qrels2'"]


def test_quality_drops_warn_by_default_and_fail_when_configured() -> None:
    langs = {"pt": LanguageAccount(3, {"quality:langid": 5, "quality:empty": 1, "contaminated:x": 1}),
             "de": LanguageAccount(9, {"quality:empty": 1})}
    got = check({"s": SourceAccount(10, 10)}, langs, rows=12)
    assert got.ok
    assert len(got.warnings) == 1 and got.warnings[0].startswith(
        "language 'pt': the quality gate dropped 6 of 10 views (60%), more than 0.5; top drop reasons: "
        "quality:langid: 5, contaminated:x: 1, quality:empty: 1")
    strict = check({"s": SourceAccount(10, 10)}, langs, rows=12, max_quality_drop_fraction=0.5)
    assert not strict.warnings and len(strict.failures) == 1
    assert "language 'pt'" in strict.failures[0] and "guards.max_quality_drop_fraction 0.5" in strict.failures[0]
    # a tiny random model's test config tolerates everything
    assert check({"s": SourceAccount(10, 10)}, langs, rows=12, max_quality_drop_fraction=1.0).ok
    assert not check({"s": SourceAccount(10, 10)}, langs, rows=12, max_quality_drop_fraction=1.0).warnings


def test_an_empty_source_is_a_warning_and_several_failures_read_as_one_line() -> None:
    got = check({"a": SourceAccount(0, 0), "b": SourceAccount(2, 0, {"malformed record": 2})}, {}, rows=0)
    assert got.warnings == ["source 'a': no records read (an empty input?)"]
    exc = GuardFailed(got.failures)
    assert "\n" not in str(exc) and str(exc).startswith("source 'b': 2 of 2 records") and \
        "(and 1 more: the build has no rows" in str(exc)


def test_guard_config_defaults_and_manifest_inputs() -> None:
    cfg = BuildConfig.model_validate({"name": "x", "output_dir": "out", "languages": ["en", "pt"],
                                      "sources": [{"name": "s", "format": "squad", "path": "a.json"}],
                                      "guards": {"max_quality_drop_fraction": 0.2}})
    assert cfg.guards == GuardConfig(max_malformed_fraction=0.5, max_quality_drop_fraction=0.2)
    with pytest.raises(ValueError):
        GuardConfig(max_malformed_fraction=1.5)
    manifest = {"sources": {"s": {"read": 4, "kept": 0, "dropped": {"malformed record": 4}}},
                "translation": {"pt": {"views": 1, "views_dropped": {"quality:empty": 3}}},
                "counts": {"rows": 0}}
    sources, langs, rows = accounts_from_manifest(manifest)
    assert sources["s"].read == 4 and langs["pt"].quality_dropped == 3 and rows == 0
    got = check_manifest(manifest, cfg.guards)
    assert [f.split(":")[0] for f in got.failures] == ["source 's'", "language 'pt'", "the build has no rows"]
    drops = [Drop("collect", "s", "line 1", "malformed record", detail={"error": "f.jsonl: line 1: missing key 'q'"}),
             Drop("collect", "s", "line 2", "malformed record", detail={"error": "second"})]
    assert first_errors(drops) == {"s": "f.jsonl: line 1: missing key 'q'"}


def test_no_rows_names_the_view_drops_and_leftovers_that_emptied_the_build() -> None:
    from mt_aug.release.guard import LanguageAccount, SourceAccount, check

    got = check({"s": SourceAccount(10, 5, {"malformed record": 5})},
                {"pt": LanguageAccount(0, {"quality:entity lost": 5})}, 0, leftover_rows=5)
    assert got.failures[-1] == ("the build has no rows: 10 records read, 5 pairs kept; top drop reasons: "
                                "malformed record: 5; views dropped: quality:entity lost: 5; 5 view(s) left over "
                                "(too few to fill a batch)")
