"""Re-encrypt every encrypted field under the first of FIELD_ENCRYPTION_KEYS.

Run after putting a new key first in FIELD_ENCRYPTION_KEYS (the old ones still listed),
and before removing an old key (docs/security.md, "Encryption at rest"). Rows are
rewritten in batches, each its own transaction; running it again is harmless. Clear text
left from before encryption is encrypted on the way.
"""

from __future__ import annotations

import pgtrigger
from django.apps import apps
from django.core.management.base import BaseCommand

from common.encryption import encrypted_field_names, rewrite_rows


class Command(BaseCommand):
    help = "Re-encrypt every encrypted field under the first of FIELD_ENCRYPTION_KEYS."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch", type=int, default=500, help="rows per transaction")

    def handle(self, *args, batch: int, **options) -> None:
        for model in apps.get_models():
            names = encrypted_field_names(model)
            if not names:
                continue
            # An append-only table (the audit trail's) refuses UPDATE by a trigger: rewriting
            # the same text under the new key is the one change let through.
            protected = [
                f"{model._meta.label}:{t.name}" for t in getattr(model._meta, "triggers", [])
            ]
            if protected:
                with pgtrigger.ignore(*protected):
                    count = rewrite_rows(model, names, batch=batch)
            else:
                count = rewrite_rows(model, names, batch=batch)
            self.stdout.write(f"{model._meta.label}: {count} rows ({', '.join(names)})")
