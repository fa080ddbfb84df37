"""Where setting values come from and which one wins: config file, ``.env``, environment.

Reads the sources, merges them name by name (a ``CWAY_``-prefixed name wins, empty values never hide a
weaker source) and remembers each effective value's :class:`Origin` for ``cway-auth config`` and doctor.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import platformdirs
from dotenv import dotenv_values

from cway_contract.config_error import ConfigError
from cway_contract.config_names import KNOWN_SETTINGS, PREFIXED_ALIASES, SECRET_SETTINGS, is_known, is_org_token_setting
from cway_contract.contract import APP_NAME

SourceKind = Literal["environment", ".env", "config file", "default"]


@dataclass(frozen=True)
class Origin:
    """Where one effective setting came from: the source, the name it was given under, the file."""

    source: SourceKind
    name: str | None = None
    path: str | None = None
    #: The raw value, kept only for settings that are not secret (for display).
    value: str | None = field(default=None, compare=False)

    def __str__(self) -> str:
        if self.source == "default":
            return "default"
        where = {
            "environment": "environment",
            ".env": f".env ({self.path})",
            "config file": f"config file ({self.path})",
        }
        return where[self.source] + (f" as {self.name}" if self.name in PREFIXED_ALIASES else "")


@dataclass(frozen=True)
class Layer:
    source: SourceKind
    path: str | None
    values: Mapping[str, str]


def read_layers(env: Mapping[str, str], cwd: Path) -> list[Layer]:
    """The sources that exist, weakest first: config file, .env, environment."""
    layers: list[Layer] = []
    config_file = Path(env.get("CWAY_MCP_CONFIG") or default_config_file())
    if config_file.is_file():
        layers.append(Layer("config file", str(config_file), read_toml(config_file)))
    elif env.get("CWAY_MCP_CONFIG"):
        raise ConfigError("CWAY_MCP_CONFIG", str(config_file), "no such file; fix the path or unset it")
    dotenv_file = cwd / ".env"
    if dotenv_file.is_file():
        found = {k: v for k, v in dotenv_values(dotenv_file).items() if v is not None and is_known(k)}
        layers.append(Layer(".env", str(dotenv_file), found))
    layers.append(Layer("environment", None, {k: v for k, v in env.items() if is_known(k)}))
    return layers


def merge_layers(layers: list[Layer]) -> tuple[dict[str, str], dict[str, Origin], tuple[str, ...]]:
    """Pick each setting's value: a ``CWAY_``-prefixed name from any source, else the strongest source.

    Empty (or blank) values are skipped, so ``AZURE_CLIENT_ID=`` never hides the config file's value.
    """
    values: dict[str, str] = {}
    origins: dict[str, Origin] = {}
    warnings: list[str] = []
    strongest_first = list(reversed(layers))
    for name in sorted(KNOWN_SETTINGS):
        names = ([f"CWAY_{name}"] if f"CWAY_{name}" in PREFIXED_ALIASES else []) + [name]
        picked = next(
            (
                (layer, given, layer.values[given].strip())
                for given in names
                for layer in strongest_first
                if layer.values.get(given, "").strip()
            ),
            None,
        )
        if picked is None:
            continue
        layer, given, value = picked
        values[name] = value
        origins[name] = Origin(layer.source, given, layer.path, None if name in SECRET_SETTINGS else value)
        if given == name and layer.source != "config file" and not name.startswith("CWAY_"):
            file_value = next((lay.values.get(name, "").strip() for lay in layers if lay.source == "config file"), "")
            if file_value and file_value != value:
                warnings.append(_override_warning(name, value, file_value, layer, layers[0].path))
    for name in sorted({n for layer in layers for n in layer.values if is_org_token_setting(n)}):
        holder = next((lay for lay in strongest_first if lay.values.get(name, "").strip()), None)
        if holder is not None:  # a secret: its origin never carries the value
            values[name] = holder.values[name].strip()
            origins[name] = Origin(holder.source, name, holder.path, None)
    return values, origins, tuple(warnings)


def _override_warning(name: str, value: str, file_value: str, layer: Layer, config_path: str | None) -> str:
    secret = name in SECRET_SETTINGS
    shown, shown_file = ("(set)", "(set)") if secret else (repr(value), repr(file_value))
    where = "the environment" if layer.source == "environment" else f"{layer.path}"
    return (
        f"{name}={shown} from {where} overrides {name}={shown_file} in {config_path}; "
        f"unset it there (it may be meant for another tool, e.g. the Azure SDK), or set CWAY_{name}, which wins over both"
    )


def read_toml(path: Path) -> dict[str, str]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError("CWAY_MCP_CONFIG", str(path), f"cannot read this TOML file ({exc})") from None
    out: dict[str, str] = {}
    for key, value in data.items():
        name = key.upper()
        if not is_known(name):
            raise ConfigError(
                name, None, f"unknown setting in {path}; known: {', '.join(sorted(KNOWN_SETTINGS))}", is_set=True
            )
        if isinstance(value, bool):
            out[name] = "1" if value else "0"
        elif isinstance(value, str | int | float):
            out[name] = str(value)
        else:
            raise ConfigError(name, None, f"in {path} must be a string or number", is_set=True)
    return out


def default_config_file() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"
