"""The benchmark's baseline without the audit trail: the real settings with the audit
middleware taken out. Never used outside benchmarks/bench_audit.py; production has no way
to turn the audit off."""

from config.settings import *  # noqa: F403
from config.settings import MIDDLEWARE

MIDDLEWARE = [m for m in MIDDLEWARE if m != "audit.middleware.AuditMiddleware"]
