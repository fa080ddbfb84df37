"""The one exception the configuration loader raises: a line a person can act on, never a secret."""

from __future__ import annotations

from cway_contract.config_names import SECRET_SETTINGS


class ConfigError(ValueError):
    """A configuration problem, worded as one line a person can act on."""

    def __init__(self, setting: str, value: str | None, fix: str, *, is_set: bool = False) -> None:
        """``value`` None reads "unset" unless ``is_set`` says it is set but not worth echoing."""
        if (setting in SECRET_SETTINGS and value) or (value is None and is_set):
            shown = "(set)"
        else:
            shown = repr(value) if value is not None else "unset"
        self.setting = setting
        self.fix = fix
        super().__init__(f"{setting}={shown}: {fix}")
