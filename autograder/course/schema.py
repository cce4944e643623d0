"""Typed settings read from YAML: dataclass fields with a default and a description, checked on reading
(grading.yml, a question's models.yml); an unknown key or a bad value is an error naming the file and the key."""
from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import field
from typing import Literal

NAMES = {float: "a number", int: "a whole number", str: "a string", bool: "true or false"}


class ConfigError(ValueError):
    """grading.yml is malformed; the message names the file, the key and the fix."""


def setting(default, help: str, minimum: float | None = None):
    """A dataclass field with a default, a description and an optional lower bound."""
    factory = {"default_factory": default} if callable(default) else {"default": default}
    return field(**factory, metadata={"help": help, "minimum": minimum})


def convert(kind, value, path: str, key: str):
    where = f"{path}: {key or 'top level'}"
    origin = typing.get_origin(kind)
    if dataclasses.is_dataclass(kind):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping of settings, got {value!r}.")
        fields = {f.name: f for f in dataclasses.fields(kind)}
        unknown = sorted(set(value) - set(fields))
        if unknown:
            raise ConfigError(f"{where}: unknown key {unknown[0]!r}; known keys: {', '.join(fields)}.")
        hints = typing.get_type_hints(kind)
        kwargs = {}
        for name, val in value.items():
            sub = f"{key}.{name}" if key else name
            kwargs[name] = convert(hints[name], val, path, sub)
            minimum = fields[name].metadata.get("minimum")
            if minimum is not None and kwargs[name] < minimum:
                raise ConfigError(f"{path}: {sub}: must be at least {minimum}, got {val!r}.")
        return kind(**kwargs)
    if origin is dict:
        _, item_kind = typing.get_args(kind)
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}.")
        return {str(k): convert(item_kind, v if v is not None else {}, path, f"{key}.{k}") for k, v in value.items()}
    if origin is list:
        (item_kind,) = typing.get_args(kind)
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}.")
        return [convert(item_kind, v, path, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin in (typing.Union, types.UnionType):  # the first alternative the value fits
        for alternative in typing.get_args(kind):
            try:
                return convert(alternative, value, path, key)
            except ConfigError:
                continue
        names = " or ".join("a mapping of settings" if dataclasses.is_dataclass(a) else NAMES.get(a, str(a))
                            for a in typing.get_args(kind))
        raise ConfigError(f"{where}: expected {names}, got {value!r}.")
    if origin is Literal:
        choices = typing.get_args(kind)
        if value not in choices:
            raise ConfigError(f"{where}: must be one of {', '.join(map(str, choices))}; got {value!r}.")
        return value
    if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if kind in (int, str) and isinstance(value, kind) and not isinstance(value, bool):
        return value
    if kind is bool and isinstance(value, bool):
        return value
    raise ConfigError(f"{where}: expected {NAMES.get(kind, kind)}, got {value!r}.")
