"""Field-level encryption at rest (docs/security.md, "Encryption at rest").

The fields are django-fernet-encrypted-fields' own, with two changes:

- Keys are `settings.FIELD_ENCRYPTION_KEYS` (Fernet keys, newest first), not derived from
  SECRET_KEY: rotating the signing key must never make the clinical record unreadable.
  New values are encrypted under the first key; every key in the list can decrypt
  (MultiFernet), so rows written under a retired key stay readable until
  `manage.py rotate_field_keys` rewrites them.
- A value that looks like a token but that no key opens is an error, never shown as is;
  a JSON document is encrypted whole (its keys and number types stay hidden and intact);
  an empty string stays empty (NOT NULL columns and "was anything written" checks keep
  working; emptiness is the only thing it shows).

Encrypted columns cannot be searched, filtered or ordered on in SQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models, transaction
from encrypted_fields import fields as library

# Every Fernet token starts with its version byte 0x80, base64-encoded with the timestamp's
# leading zero bytes: clear text that starts like this does not occur in practice.
TOKEN_PREFIX = "gAAAAA"


class UndecryptableValue(RuntimeError):
    """A stored token that none of FIELD_ENCRYPTION_KEYS opens (a retired key was dropped
    before `rotate_field_keys` ran, or the keys are wrong)."""


@lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _keys() -> tuple[str, ...]:
    # Empty only in the benchmark's plain-text baseline (benchmarks/settings_plaintext.py):
    # settings.py refuses to start without a key unless DEBUG, which has a development key.
    return tuple(getattr(settings, "FIELD_ENCRYPTION_KEYS", ()))


def encrypting() -> bool:
    """Whether values are encrypted (false only in the plain-text benchmark baseline)."""
    return bool(_keys())


def encrypt(text: str) -> str:
    keys = _keys()
    if not keys:
        return text
    return _fernet(keys).encrypt(text.encode()).decode()


def decrypt(value: str) -> str:
    """The clear text of a stored value; clear text stored before encryption passes through."""
    keys = _keys()
    if not keys or not value.startswith(TOKEN_PREFIX):
        return value
    try:
        return _fernet(keys).decrypt(value.encode()).decode()
    except InvalidToken:
        raise UndecryptableValue(
            "No key in FIELD_ENCRYPTION_KEYS opens a stored value; "
            "is a retired key missing from the list?"
        ) from None


class _SettingsKeys:
    """Use FIELD_ENCRYPTION_KEYS, not the library's SECRET_KEY x SALT_KEY derivation."""

    @property
    def f(self) -> MultiFernet:  # the library's name for its Fernet
        return _fernet(_keys())

    @property
    def keys(self) -> list[bytes]:
        return [key.encode() for key in _keys()]


class _EncryptedText(_SettingsKeys):
    def get_prep_value(self, value: Any) -> Any:
        # The plain field's preparation (skipping the library's, which stores "" as NULL).
        value = super(library.EncryptedFieldMixin, self).get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        return value if prepared else self.get_prep_value(value)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return decrypt(value) if isinstance(value, str) else value

    def to_python(self, value: Any) -> Any:
        # Values from forms and code are clear text; decryption happens only on reading rows.
        return super(library.EncryptedFieldMixin, self).to_python(value)


class EncryptedTextField(_EncryptedText, library.EncryptedTextField):
    pass


class EncryptedCharField(_EncryptedText, library.EncryptedCharField):
    """max_length still limits what may be entered; the column is text (tokens are longer)."""


class EncryptedJSONField(_SettingsKeys, library.EncryptedJSONField):
    """The whole document is one token, stored as a JSON string in the jsonb column."""

    def get_prep_value(self, value: Any) -> Any:
        if value is None:
            return None
        return encrypt(json.dumps(value, cls=self.encoder))

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        return models.JSONField.get_db_prep_value(self, value, connection, prepared)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        value = models.JSONField.from_db_value(self, value, expression, connection)
        if isinstance(value, str) and value.startswith(TOKEN_PREFIX) and _keys():
            return json.loads(decrypt(value), cls=self.decoder)
        return value

    def to_python(self, value: Any) -> Any:
        return models.JSONField.to_python(self, value)


ENCRYPTED_FIELDS = (EncryptedTextField, EncryptedCharField, EncryptedJSONField)


def encrypted_field_names(model: type[models.Model]) -> list[str]:
    return [f.name for f in model._meta.concrete_fields if isinstance(f, ENCRYPTED_FIELDS)]


def rewrite_rows(
    model: type[models.Model], fields: Iterable[str] | None = None, batch: int = 500
) -> int:
    """Read every row's encrypted fields and write them back: clear text left from before
    encryption is encrypted, and tokens under an older key are re-encrypted under the first.
    Works on historical models too (data migrations). Returns the number of rows."""
    names = list(fields) if fields is not None else encrypted_field_names(model)
    if not names:
        return 0
    done = 0
    last = None
    while True:
        rows = model._base_manager.order_by("pk").only("pk", *names)
        if last is not None:
            rows = rows.filter(pk__gt=last)
        with transaction.atomic():  # locked, so an edit meanwhile is never overwritten
            chunk = list(rows.select_for_update()[:batch])
            if not chunk:
                return done
            model._base_manager.bulk_update(chunk, names)
        done += len(chunk)
        last = chunk[-1].pk


def write_clear(model: type[models.Model], fields: Iterable[str], batch: int = 500) -> None:
    """The reverse of encrypting a migration's fields: write every value back in clear."""
    names = list(fields)
    for row in model._base_manager.order_by("pk").only("pk", *names).iterator(chunk_size=batch):
        clear = {}
        for name in names:
            field = model._meta.get_field(name)
            value = getattr(row, name)
            plain = (
                models.JSONField() if isinstance(field, models.JSONField) else models.TextField()
            )
            clear[name] = models.Value(value, output_field=plain)
        model._base_manager.filter(pk=row.pk).update(**clear)
