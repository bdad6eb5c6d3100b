"""The one error type users see for bad input."""
from __future__ import annotations


class ConfigError(ValueError):
    """A config value is wrong. Its message is one line: key, value, what is allowed."""

    def __init__(self, key: str, value, allowed: str):
        self.key, self.value, self.allowed = key, value, allowed
        super().__init__(f"config error: {key} = {value!r} is not allowed; expected {allowed}")
