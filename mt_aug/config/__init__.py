"""The build configuration: one YAML file, validated into typed models.

`models` (the schema), `load` (reading a file, resolving its paths), `checks` (backends and
files on this machine), `errors` (messages that name file and key). Everything public is
importable from `mt_aug.config`.
"""

from __future__ import annotations

from mt_aug.config.errors import ConfigError
from mt_aug.config.load import load_config
from mt_aug.config.models import (
    BACKEND_MODULES,
    DEFAULT_RATIO_BANDS,
    DEPRECATED_QUALITY_KEYS,
    FIELD_KEYS,
    Backend,
    BatchingConfig,
    BuildConfig,
    DecontaminationConfig,
    DevSplitConfig,
    EvalFormat,
    EvalSetConfig,
    ExportConfig,
    GROUP_FIELDS,
    GuardConfig,
    HardNegativesConfig,
    ModelSpec,
    PathMap,
    QEConfig,
    QualityConfig,
    RoundTripCosineConfig,
    SourceConfig,
    SourceFormat,
    TranslatorConfig,
)

__all__ = [
    "BACKEND_MODULES", "DEFAULT_RATIO_BANDS", "FIELD_KEYS", "Backend", "BatchingConfig", "BuildConfig", "ConfigError",
    "DEPRECATED_QUALITY_KEYS", "DecontaminationConfig", "DevSplitConfig", "EvalFormat", "EvalSetConfig",
    "ExportConfig", "GROUP_FIELDS", "GuardConfig", "HardNegativesConfig", "ModelSpec", "PathMap", "QEConfig",
    "QualityConfig", "RoundTripCosineConfig", "SourceConfig", "SourceFormat", "TranslatorConfig", "load_config",
]
