"""Request fields shared by every app's API."""

from __future__ import annotations

from urllib.parse import quote, unquote

from rest_framework import serializers

# The largest integer the databases hold (PostgreSQL bigint, SQLite INTEGER). A larger id in a request is a 400
# on its field, not an error from the database driver (SQLite cannot even bind it).
DB_INT_MAX = 2**63 - 1


class IdField(serializers.IntegerField):
    """An id (or a version number) in a request: a whole number from 1 to ``DB_INT_MAX``."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", DB_INT_MAX)
        super().__init__(**kwargs)


def id_from_text(value) -> int | None:
    """An id typed or posted as text: ASCII digits that fit the databases (as ``<id:…>``), else None. ``"²"`` is a
    digit to ``str.isdigit`` and not to ``int``; a 5,000-digit number is more than ``int`` will parse."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        number = int(value)
        return number if number >= 1 else None
    return None


class IdConverter:
    """``<id:name>`` in a URL: digits that fit the databases' integers (at most 18, so any match fits). A longer
    number matches no URL and is a 404, as an unknown id is."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)


class AnyTextConverter:
    """``<text:name>`` in a URL: any text that people or other systems choose, e.g. a customer's ``distinct_id``
    (``/``, ``?``, ``#``, ``%``, spaces, ``..``, any script).

    ``reverse()`` writes the value percent-encoded *twice*: once here (every character but letters, digits, ``-``,
    ``_`` and ``~``; a ``.`` too, so no id is ever a ``.``/``..`` segment that a browser would fold away), once more by
    Django. A server decodes the path once; this decodes the rest. A value typed by hand and encoded once also
    arrives whole (``a%2Fb`` and ``a/b`` both read ``a/b``); only a value that itself contains a percent-escape must
    be encoded twice, as ``reverse()`` does. A NUL character or more than 200 characters matches nothing (a 404),
    as no stored id has them."""

    regex = ".+"
    MAX_LENGTH = 200

    def to_python(self, value: str) -> str:
        text = unquote(value)
        if "\x00" in text or len(text) > self.MAX_LENGTH:
            raise ValueError("not an id")
        return text

    def to_url(self, value) -> str:
        return quote(str(value), safe="").replace(".", "%2E")

