"""The record types and Arrow schemas every stage agrees on (the only place they are defined)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from mt_aug.languages import SOURCE_LANG  # noqa: F401 (re-exported: the language records are read in)

# Bumped when a record type or table schema below changes: stages that produce these tables
# list "mt-aug-schema" among their libraries, so their cached results are keyed on it.
SCHEMA_VERSION = 3  # 3: the pairs table has answer_start


@dataclass(frozen=True, slots=True)
class QAPair:
    """One English question-passage pair as read from a source."""

    source: str  # the source's name in the config
    id: str  # the record's own id, as it appears in the source file
    question: str
    passage_title: str
    passage: str
    answers: tuple[str, ...] = ()
    pair_id: str = ""  # "<source>:<id>", unique within a build
    passage_id: str = ""  # hash of the normalized English passage text
    # (title, text) of hard negative passages where the source has them (DPR), for trainers that use them.
    hard_negatives: tuple[tuple[str, str], ...] = ()
    # Character offset of the first answer in `passage` where the source gives spans (SQuAD), else -1.
    answer_start: int = -1


@dataclass(frozen=True, slots=True)
class Drop:
    """Why a record, pair or view did not reach the shards."""

    stage: str  # collect | dedup | decontaminate | translate | quality | target-decontaminate | pack | hard-negatives
    source: str
    id: str
    reason: str
    lang: str = SOURCE_LANG
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "stage": self.stage,
            "source": self.source,
            "id": self.id,
            "reason": self.reason,
            "lang": self.lang,
        }
        out.update(self.detail)
        return out


# The stage of a drop of one hard negative (not of its pair or view): English ones decontamination
# removed (lang en), translated ones the gate or target-side decontamination removed.
NEGATIVE_DROP_STAGE = "hard-negatives"


# Columns of every shard, in order. A trainer relies on these names and types.
SHARD_SCHEMA = pa.schema(
    [
        pa.field("batch_id", pa.string(), nullable=False),
        pa.field("query", pa.string(), nullable=False),
        pa.field("query_lang", pa.string(), nullable=False),
        pa.field("passage", pa.string(), nullable=False),
        pa.field("passage_title", pa.string(), nullable=False),
        pa.field("passage_lang", pa.string(), nullable=False),
        pa.field("pair_id", pa.string(), nullable=False),
        pa.field("passage_id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
    ]
)

SHARD_COLUMNS: tuple[str, ...] = tuple(SHARD_SCHEMA.names)

# The hybrid training order of batches (schedule.arrow).
SCHEDULE_SCHEMA = pa.schema(
    [
        pa.field("step", pa.int64(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("group", pa.string(), nullable=False),
        pa.field("file", pa.string(), nullable=False),
        pa.field("batch_index", pa.int64(), nullable=False),
        pa.field("batch_id", pa.string(), nullable=False),
    ]
)


# group_by: [source] (manifest format 5): the schedule's last column, each batch's one source; the
# same name in each shard file's Arrow schema metadata (and its manifest entry's `source`).
SCHEDULE_SOURCE = pa.field("source", pa.string(), nullable=False)
SHARD_SOURCE_KEY = "source"


# The English pairs between collect and views, one row per pair (the pipeline's data plane).
# Titles and passages are dictionary-encoded: SQuAD asks ~5 questions per paragraph, so each
# distinct passage is stored once and every pair holds an index into it.
NEGATIVE_TYPE = pa.list_(pa.struct([("title", pa.string()), ("text", pa.string())]))
TEXT_DICT = pa.dictionary(pa.int32(), pa.string())
PAIRS_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),
        pa.field("id", pa.string(), nullable=False),
        pa.field("pair_id", pa.string(), nullable=False),
        pa.field("passage_id", pa.string(), nullable=False),
        pa.field("question", pa.string(), nullable=False),
        pa.field("passage_title", TEXT_DICT, nullable=False),
        pa.field("passage", TEXT_DICT, nullable=False),
        pa.field("answers", pa.list_(pa.string()), nullable=False),
        pa.field("answer_start", pa.int32(), nullable=False),  # of answers[0] in passage; -1: no span
    ]
)
# Per language, the texts of every pair (null where the pair has no view in that language),
# row i belonging to row i of the pairs table.
TEXTS_SCHEMA = pa.schema(
    [
        pa.field("query", pa.string()),
        pa.field("title", TEXT_DICT),
        pa.field("passage", TEXT_DICT),
    ]
)
