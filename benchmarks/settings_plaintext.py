"""The benchmark's baseline without encryption at rest: the real settings with no field
key, which only this module can give (settings.py refuses to start without one unless
DEBUG, which has a development key). Never used outside benchmarks/bench_encryption.py."""

from config.settings import *  # noqa: F403

FIELD_ENCRYPTION_KEYS: list[str] = []
