"""Strict readers for environment variables.

Every reader names the variable in its error, and `settings.py` turns the first error into
one line on stderr and a non-zero exit: a mistyped value must stop start-up, never be
guessed at (django-environ alone reads DEBUG=maybe as False).
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import environ


class ConfigError(Exception):
    """A configuration value is missing or malformed."""

    def __init__(self, name: str, problem: str):
        super().__init__(f"{name}: {problem}")
        self.name = name


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def raw(name: str) -> str | None:
    value = os.environ.get(name)
    return value.strip() if value is not None else None


def string(name: str, default: str | None = None, *, required: bool = False) -> str:
    value = raw(name)
    if not value:
        if required:
            raise ConfigError(name, "must be set")
        return default if default is not None else ""
    return value


def boolean(name: str, default: bool) -> bool:
    value = raw(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(name, f"expected one of 1/0, true/false, yes/no, on/off; got {value!r}")


def integer(name: str, default: int, *, minimum: int | None = None) -> int:
    value = raw(name)
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(name, f"expected a whole number; got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ConfigError(name, f"must be at least {minimum}; got {number}")
    return number


def listing(name: str, default: list[str]) -> list[str]:
    value = raw(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def fernet_keys(name: str, *, required: bool) -> list[str]:
    """Comma-separated Fernet keys (`Fernet.generate_key()`), newest first."""
    from cryptography.fernet import Fernet

    keys = listing(name, [])
    if not keys:
        if required:
            raise ConfigError(name, "must be set (generate one: docs/security.md)")
        return []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ConfigError(
                name, f"key {position} is not a Fernet key (32 url-safe base64 bytes)"
            ) from None
    return keys


def database(name: str, default: str) -> dict[str, Any]:
    value = raw(name) or default
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # we report an unknown engine ourselves
            config = environ.Env.db_url_config(value)
    except Exception as exc:  # django-environ raises several types for a bad URL
        raise ConfigError(name, f"not a database URL ({exc}); got {value!r}") from None
    engine = config.get("ENGINE", "")
    if not engine or engine not in {
        "django.db.backends.postgresql",
        "django.db.backends.sqlite3",
    }:
        raise ConfigError(
            name, f"use a postgres:// or sqlite:/// URL; got {value.split('://')[0]!r}"
        )
    if engine.endswith("sqlite3") and not config.get("NAME"):
        raise ConfigError(name, "a sqlite URL needs a file path, e.g. sqlite:///var/db.sqlite3")
    return config


def redis_url(name: str) -> str:
    value = raw(name) or ""
    if value and not value.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(name, f"expected a redis:// or rediss:// URL; got {value!r}")
    return value


def email(name: str, default: str) -> dict[str, Any]:
    value = raw(name) or default
    try:
        config = environ.Env.email_url_config(value)
    except Exception as exc:
        raise ConfigError(name, f"not an email URL ({exc}); got {value!r}") from None
    if not config.get("EMAIL_BACKEND"):
        raise ConfigError(name, f"unknown email scheme; got {value!r}")
    return config


_RATE_UNITS = {"s": "second", "m": "minute", "h": "hour", "d": "day"}


def rate(name: str, default: str, *, multiples: bool = True) -> str:
    """A rate limit such as `5/h` or `10/15m`: tries per period (s, m, h or d, optionally
    with a multiple, as django-ratelimit reads it; DRF's throttles take no multiple)."""
    value = raw(name) or default
    count, _, period = value.partition("/")
    multiple, unit = period[:-1], period[-1:]
    if not (count.isdigit() and int(count) > 0 and unit in _RATE_UNITS) or (
        multiple and not (multiples and multiple.isdigit() and int(multiple) > 0)
    ):
        example = "5/h or 10/15m" if multiples else "30/m or 1000/d"
        raise ConfigError(name, f"expected tries per period, like {example}; got {value!r}")
    return value
