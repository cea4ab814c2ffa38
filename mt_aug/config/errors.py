"""Config errors, phrased as `file: key: message` (pydantic's errors made readable)."""

from __future__ import annotations

from typing import Any


class ConfigError(ValueError):
    """A config problem, already phrased as `file: key: message`."""


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _format_error(err: dict[str, Any]) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    if kind == "finite_number":
        return f"must be a finite number, not {err.get('input')!r}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        op = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}[kind]
        bound = next(iter(ctx.values()))
        return f"must be {op} {bound}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')} (got {err.get('input')!r})"
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


def _loc_of_model_error(msg: str) -> tuple[str, str]:
    """Model-level validators phrase their own location as `key: message`."""
    if ": " in msg and " " not in msg.split(": ", 1)[0]:
        key, rest = msg.split(": ", 1)
        return key, rest
    return "", msg
