"""`mt-aug audit --labels`: a person's labels applied to a published build (the figures of
mt_aug.quality.audit into the manifest, the labels kept in the build, the card re-rendered)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from mt_aug.quality.audit import (SHEET_FILE, canonical, evaluate, load_manifest, manifest_entry, read_labels,
                                  write_atomic)
from mt_aug.release.card import write_card
from mt_aug.release.publish import write_json


def apply_labels(build_dir: Path, sheet: Path) -> dict[str, Any]:
    """Compute the audit of a labelled sheet, keep the labels in the build (`audit/labels.tsv`,
    listed in the manifest's checksums), write the figures into the manifest (`audit`) and
    render the card and croissant.json again. Returns the manifest's `audit` entry. Nothing is
    written when the sheet is refused; the manifest is written last."""
    manifest = load_manifest(build_dir)
    labels = read_labels(sheet)
    audits = evaluate(build_dir, labels, sheet, manifest)
    text = canonical(labels)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    manifest["audit"] = manifest_entry(audits, digest)
    manifest["checksums"] = dict(sorted({**(manifest.get("checksums") or {}), SHEET_FILE: digest}.items()))
    write_atomic(build_dir / SHEET_FILE, text)
    write_card(build_dir, manifest)
    write_json(build_dir / "manifest.json", manifest)  # last, as a build writes it
    return manifest["audit"]
