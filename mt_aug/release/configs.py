"""A build's dataset configs: one per mono language and cross language pair with batches,
what the card's YAML `configs:` and croissant.json's record sets list."""

from __future__ import annotations

from typing import Any


# Manifest format from which the card's configs name their files exactly (before: a glob).
EXACT_FILES_FORMAT = 4


def exact_files(manifest: dict[str, Any]) -> bool:
    return int(manifest.get("format_version", 1)) >= EXACT_FILES_FORMAT


def config_names(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """(config name, the glob of its files) for every mono language and cross pair with
    batches: `<kind>/<group>/part-*.arrow` (format 4; before, `*.arrow`, which also matched any
    stray `cache-*.arrow` a `datasets` map wrote beside the shards)."""
    out = []
    for kind in ("mono", "cross"):
        for group, n in sorted(manifest["batches"][kind].items()):
            if n > 0:
                out.append((f"{kind}-{group}", f"{kind}/{group}/{'part-' if exact_files(manifest) else ''}*.arrow"))
    return out


def config_data_files(manifest: dict[str, Any], name: str, glob: str) -> str | list[str]:
    """What a card config's `data_files` path names: its files, exactly (format 4: a file
    dropped into the folder later is not read), else its glob."""
    if not exact_files(manifest):
        return glob
    kind, group = name.split("-", 1)
    return [f["path"] for f in manifest["files"] if f.get("kind") == kind and f.get("group") == group]
