"""Regular expressions that users write (a tracking plan's property ``pattern``), run in linear time.

Python's ``re`` backtracks: ``(a+)+`` against 28 × "a" + "!" took 10 s and doubled with each character, so one
approved plan could hold any worker that checked events. Patterns run in RE2 (google-re2), whose matching time is
linear in the input; what RE2 cannot run in linear time (back-references, look-around) is refused when the plan is
saved, with RE2's reason. Both the pattern and each checked value are capped in length, so one check costs at most
``MAX_VALUE_LENGTH`` steps per distinct value. This module imports no app.
"""

from __future__ import annotations

import re2

MAX_PATTERN_LENGTH = 500  # characters
MAX_VALUE_LENGTH = 1000  # characters of a value checked against a pattern; longer values do not match
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False
_OPTIONS.max_mem = 8 << 20  # bytes for one compiled pattern (RE2's default); a pattern that needs more is refused


class PatternRefused(ValueError):
    """The pattern cannot run here (too long, not valid, or needs backtracking); ``str()`` says why."""


def pattern_compile(pattern: str):
    """The compiled RE2 pattern (``.fullmatch(text)``), or PatternRefused with a reason a person can act on."""
    if not isinstance(pattern, str) or not pattern:
        raise PatternRefused("A pattern is a non-empty text.")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternRefused(f"At most {MAX_PATTERN_LENGTH} characters.")
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as error:
        reason = error.args[0].decode("utf-8", "replace") if error.args and isinstance(error.args[0], bytes) \
            else str(error)
        raise PatternRefused(reason) from None


def pattern_fullmatch(compiled, value: str) -> bool:
    """Whether the whole of ``value`` matches; a value over ``MAX_VALUE_LENGTH`` characters does not."""
    return len(value) <= MAX_VALUE_LENGTH and compiled.fullmatch(value) is not None
