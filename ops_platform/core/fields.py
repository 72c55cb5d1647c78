"""Request fields shared by every app's API."""

from __future__ import annotations

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


class IdConverter:
    """``<id:name>`` in a URL: digits that fit the databases' integers (at most 18, so any match fits). A longer
    number matches no URL and is a 404, as an unknown id is."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)
