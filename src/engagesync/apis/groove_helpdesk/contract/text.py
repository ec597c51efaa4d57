"""How Groove reads a message body: HTML or plain text, its ``plain_text_body`` and the ticket summary."""

from __future__ import annotations

import html
import re

#: A ticket's summary is the first 100 characters of its first message.
SUMMARY_LENGTH = 100

# A body is HTML if it has one of these tags.
_HTML_TAG = re.compile(
    r"<\s*/?\s*(br|p|div|span|a|b|i|u|strong|em|ul|ol|li|table|tr|td|img|h[1-6]|blockquote|pre|"
    r"code|hr|html|body)\b[^>]*>",
    re.IGNORECASE,
)
_BREAK = re.compile(r"<\s*br\s*/?\s*>|<\s*/\s*(p|div|li|h[1-6]|tr|blockquote|pre)\s*>", re.IGNORECASE)
_ANY_TAG = re.compile(r"<[^>]+>")


def is_html(text: str) -> bool:
    return bool(_HTML_TAG.search(text))


def plain_text(text: str) -> str:
    """The ``plain_text_body`` Groove stores for a body (HTML stripped; plain text kept as is)."""
    text = text.replace("\r\n", "\n")
    if not is_html(text):
        return text
    plain = html.unescape(_ANY_TAG.sub("", _BREAK.sub("\n", text)))
    return re.sub(r"\n{3,}", "\n\n", plain).strip()


def summarize(plain: str) -> str:
    """The ticket summary: the first 100 characters of the first message, whitespace collapsed."""
    return " ".join(plain.split())[:SUMMARY_LENGTH].rstrip()


def compact(text: str) -> str:
    """Text with every whitespace removed: compares bodies across HTML/plain and line-ending changes."""
    return "".join(text.split())
