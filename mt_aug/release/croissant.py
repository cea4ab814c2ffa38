"""MLCommons Croissant 1.0 metadata (croissant.json) of a build: a pure function of its manifest."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from mt_aug.redact import redact
from mt_aug.release.configs import config_names

CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "samplingRate": "cr:samplingRate",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}

ARROW_STREAM = "application/vnd.apache.arrow.stream"

CITATION = (
    "@article{elmahdy2024synergistic, title={Synergistic Approach for Simultaneous Optimization of "
    "Monolingual, Cross-lingual, and Multilingual Information Retrieval}, author={Elmahdy, Adel and "
    "Lin, Sheng-Chieh and Ahmad, Amin}, journal={arXiv preprint arXiv:2408.10536}, year={2024}}"
)

FIELDS = {
    "batch_id": "The training batch the row belongs to; rows of one batch are contiguous.",
    "query": "The question, in query_lang.",
    "query_lang": "ISO 639-1 code of the query.",
    "passage": "The passage, in passage_lang.",
    "passage_title": "The passage's title, in passage_lang.",
    "passage_lang": "ISO 639-1 code of the passage.",
    "pair_id": "Source name and the record's own id: the English pair this row is a view of.",
    "passage_id": "Hash of the normalized English passage.",
    "source": "The source dataset's name in the build config.",
}


PARQUET = "application/x-parquet"


def croissant(manifest: dict[str, Any], *, files: list[dict[str, Any]] | None = None,
              encoding_format: str = ARROW_STREAM, extension: str = "arrow",
              extra_record_sets: Sequence[tuple[str, str, str, dict[str, tuple[str, str]]]] = ()) -> dict[str, Any]:
    """The build's metadata (its Arrow shards), or with `files` (path, sha256), `encoding_format`
    and `extension` that of an export of it (mt_aug.release.export: Parquet, which
    mlcroissant's `records()` reads). `extra_record_sets`: (name, file, description, {column:
    (description, dataType)}) for single-file record sets (the export's schedule)."""
    m = manifest
    licenses = sorted({s.get("license") or "unknown" for s in m["sources"].values()})
    distribution: list[dict[str, Any]] = []
    for f in m["files"] if files is None else files:
        distribution.append({
            "@type": "cr:FileObject",
            "@id": f["path"],
            "name": f["path"],
            "contentUrl": f["path"],
            "encodingFormat": encoding_format,
            "sha256": f["sha256"],
        })
    record_sets = []
    for name, glob in config_names(m):
        fs_id = f"{name}-files"
        glob = glob.removesuffix(".arrow") + f".{extension}"
        distribution.append({"@type": "cr:FileSet", "@id": fs_id, "name": fs_id, "encodingFormat": encoding_format,
                             "includes": glob})
        record_sets.append({
            "@type": "cr:RecordSet",
            "@id": name,
            "name": name,
            "description": f"{'Monolingual' if name.startswith('mono') else 'Cross-lingual'} batches of "
                           f"{m['batch_size']} rows: {name.split('-', 1)[1]}.",
            "field": [
                {"@type": "cr:Field", "@id": f"{name}/{col}", "name": col, "description": desc,
                 "dataType": "sc:Text", "source": {"fileSet": {"@id": fs_id}, "extract": {"column": col}}}
                for col, desc in FIELDS.items()
            ],
        })
    for name, path, desc, fields in extra_record_sets:
        record_sets.append({
            "@type": "cr:RecordSet", "@id": name, "name": name, "description": desc,
            "field": [
                {"@type": "cr:Field", "@id": f"{name}/{col}", "name": col, "description": d,
                 "dataType": dtype, "source": {"fileObject": {"@id": path}, "extract": {"column": col}}}
                for col, (d, dtype) in fields.items()
            ],
        })
    return {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": "http://mlcommons.org/croissant/1.0",
        "name": f"mt-aug-{m['name']}",
        "description": (f"Machine-translated multilingual retrieval training pairs in {', '.join(m['languages'])}, "
                        f"packed into monolingual and cross-lingual batches of {m['batch_size']} rows "
                        "for hybrid batch training (arXiv 2408.10536)."),
        "license": licenses,
        "url": "https://arxiv.org/abs/2408.10536",
        "citeAs": CITATION,
        "version": "1.0.0",
        "datePublished": str(m.get("finished_at") or "")[:10] or None,
        "inLanguage": list(m["languages"]),
        "distribution": distribution,
        "recordSet": record_sets,
    }


def croissant_json(doc: dict[str, Any]) -> str:
    """A croissant.json document's bytes, as every writer of one writes them (credentials in
    URLs redacted: mt_aug.redact)."""
    return json.dumps(redact(doc), indent=2, ensure_ascii=False) + "\n"


def croissant_text(manifest: dict[str, Any]) -> str:
    """croissant.json as a build writes it (and `verify` re-renders it)."""
    return croissant_json(croissant(manifest))
