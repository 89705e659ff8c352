"""Teachers' answers shortened for display, saying so, so one pasted essay cannot swamp a
digest, a terminal or a spreadsheet cell."""

from __future__ import annotations

__all__ = ["ANSWER_LIMIT", "NAME_LIMIT", "shorten"]

#: Characters of one answer shown in the digest (a long paragraph; mail clients clip long
#: messages, Gmail at about 100 KB).
ANSWER_LIMIT = 2_000
#: Characters of an email cell shown for an answer that matched nobody.
NAME_LIMIT = 120


def shorten(text: str, limit: int = ANSWER_LIMIT) -> str:
    """``text`` unchanged when it has at most ``limit`` characters; else its start, cut at a
    word where one is near, followed by ``… [shortened from N characters]``, the whole at most
    ``limit`` characters (for a ``limit`` of at least 60)."""
    if len(text) <= limit:
        return text
    marker = f" … [shortened from {len(text):,} characters]"
    room = max(limit - len(marker), 1)
    head = text[:room]
    space = head.rfind(" ", max(room - 40, 0))
    if space > 0:
        head = head[:space]
    return head.rstrip() + marker
