"""The one error type users see for bad input."""
from __future__ import annotations

#: Most characters of a value an error message shows: a value read from a file (a list
#: of weights, a table) is cut, so an error never echoes a file's contents.
MAX_VALUE_CHARS = 100


class ConfigError(ValueError):
    """A config value is wrong. Its message is one line: key, value, what is allowed."""

    def __init__(self, key: str, value, allowed: str):
        self.key, self.value, self.allowed = key, value, allowed
        super().__init__(f"config error: {key} = {shown(value)} is not allowed; expected {allowed}")


def shown(value) -> str:
    """``repr(value)``, at most :data:`MAX_VALUE_CHARS` characters (then cut,
    with the full length said)."""
    text = repr(value)
    if len(text) <= MAX_VALUE_CHARS:
        return text
    return f"{text[:MAX_VALUE_CHARS - 3]}... ({len(text)} characters)"
