"""Text from a build, a cache or a source, made safe to print on a terminal.

A `drops.jsonl` line, a shard row or a file name can hold terminal control sequences: OSC 0
sets the window title, OSC 52 writes the clipboard, CSI moves the cursor or clears the
screen, C1 controls (U+009B is CSI in one character) do the same on some terminals, and bidi
overrides (U+202E) make a line read differently than it is stored. `shown` writes every such
character as a visible escape (`\\x1b`, `\\u202e`), so what is printed is inert and still says
what was there. Tab, newline and carriage return are escaped too: a printed record or error
stays on its line.
"""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls, the line and paragraph separators, and the bidi controls
# (embeddings, overrides, isolates, marks; ALM)
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def _escape(m: re.Match[str]) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c <= 0xFF else f"\\u{c:04x}"


def shown(text: str) -> str:
    """`text` with every terminal control character written as a visible escape."""
    if text.isprintable():  # no Cc, Cf, Zl, Zp: nothing to escape (most text)
        return text
    return _UNSAFE.sub(_escape, text)


__all__ = ["shown"]
