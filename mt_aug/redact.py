"""Credentials out of everything published or logged.

A config value may be a URL that carries a secret: `result_storage: s3://KEY:SECRET@bucket/x`,
a dataset path `https://user:token@host/...`, `PREFECT_API_URL=http://admin:pass@host/api`,
or a signed URL whose query holds the signature. `redact` is the one function that removes
them, and everything that serializes a config for publication or logging goes through it: the
manifest (and so the card and croissant.json, rendered from it; the card redacts again, for
manifests of older builds), the plan report, cached-result warnings, and every log record
(`install_log_redaction`, set up by the CLI and the Prefect flows: the record factory, so
Prefect's own handlers get redacted records too).

What is removed: the user-info part of any `scheme://user[:password]@host` (replaced by
`***@`), and the values of query parameters whose names say they are secrets (token, key,
secret, password, signature, credential, ...). The host and path stay: where the data lives
is not a secret, and a reader needs it to recognize the place.
"""

from __future__ import annotations

import logging
import re
from typing import Any

REDACTED = "***"

# scheme://userinfo@ : userinfo is anything up to the last '@' before the host's end
# (a password may hold '@' or ':', percent-encoded or not); never crosses whitespace, '/'
# after the authority starts, quotes or brackets.
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^\s/?#@\"'<>\[\]{}]*(?:@[^\s/?#@\"'<>\[\]{}]*)*)@")
_SECRET_PARAM = re.compile(
    r"(?P<name>[?&;](?:[A-Za-z0-9_.\-]*?)(?:token|secret|password|passwd|pwd|key|signature|sig|credential|auth)"
    r"[A-Za-z0-9_.\-]*=)(?P<value>[^&#\s\"'<>]+)", re.IGNORECASE)


def redact_text(text: str) -> str:
    """`text` with the credentials of every URL in it replaced by `***`."""
    if "://" not in text and "=" not in text:
        return text
    out = _USERINFO.sub(lambda m: f"{m['scheme']}{REDACTED}@", text)
    if "?" in out or "&" in out:
        out = _SECRET_PARAM.sub(lambda m: f"{m['name']}{REDACTED}", out)
    return out


def redact(value: Any) -> Any:
    """A JSON-like value (dicts, lists, strings, numbers) with every string redacted
    (`redact_text`); keys too. Other values are returned as they are."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {redact(k): redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, tuple):
        return tuple(redact(v) for v in value)
    return value


def _redacted_record_factory(base: Any) -> Any:
    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        try:
            msg = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format is logging's to report, not ours
            return record
        clean = redact_text(msg)
        if clean != msg:
            record.msg, record.args = clean, ()
        return record

    make._mt_aug_redacts = True  # type: ignore[attr-defined]
    return make


def install_log_redaction() -> None:
    """Every log record of this process, from any logger, has URL credentials redacted before
    any handler sees it (idempotent)."""
    base = logging.getLogRecordFactory()
    if getattr(base, "_mt_aug_redacts", False):
        return
    logging.setLogRecordFactory(_redacted_record_factory(base))


__all__ = ["REDACTED", "install_log_redaction", "redact", "redact_text"]
