"""Checking a cron expression (5 fields) and a time zone with a reason a person can act on,
before a scheduler is started."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))
_NAMES = {
    "month": ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
    "day of week": ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
}
_ITEM = re.compile(r"^(\*|[0-9a-z]+(?:-[0-9a-z]+)?)(?:/([0-9]+))?$")


def _value(token: str, name: str, lo: int, hi: int) -> int:
    names = _NAMES.get(name)
    if names and token in names:
        return names.index(token) + (1 if name == "month" else 0)
    if not token.isdigit():
        raise ValueError(f"{name} {token!r} is not a number" + (f" or a name ({', '.join(names)})" if names else ""))
    v = int(token)
    if not lo <= v <= hi:
        raise ValueError(f"{name} {v} is out of range {lo}-{hi}")
    return v


def cron_problem(expr: str) -> str | None:
    """None for a valid 5-field cron expression, else why it is not one."""
    fields = expr.lower().split()
    if len(fields) != 5:
        return (f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(fields)}; "
                'e.g. "0 3 * * *" is 03:00 every day')
    for text, (name, lo, hi) in zip(fields, FIELDS, strict=True):
        for item in text.split(","):
            m = _ITEM.match(item)
            if not m:
                return f"{name} field {text!r}: {item!r} is not *, a number, a range a-b or a step */n"
            try:
                if m.group(1) != "*":
                    parts = [_value(t, name, lo, hi) for t in m.group(1).split("-")]
                    if len(parts) == 2 and parts[0] > parts[1]:
                        return f"{name} field {text!r}: range {m.group(1)} runs backwards"
            except ValueError as exc:
                return f"{name} field {text!r}: {exc}"
            if m.group(2) is not None and int(m.group(2)) == 0:
                return f"{name} field {text!r}: a step of 0"
    return None


def timezone_problem(tz: str) -> str | None:
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {tz!r} (an IANA name such as UTC or Europe/Lisbon)"
    return None
