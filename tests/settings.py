"""Settings for the test suite: the real settings, with a throwaway secret key.

Everything else (DATABASE_URL, REDIS_URL) comes from the environment exactly as in
production, so CI exercises the same configuration code.
"""

import os
import secrets

os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret")

from config.settings import *  # noqa: F403
from config.settings import CACHES

# Every key this run writes to a shared Redis (Celery's and the cache's) starts with this,
# so the suite never touches anything else there and removes exactly its own keys at the end.
TEST_REDIS_PREFIX = f"threshold-test-{os.getpid()}-{secrets.token_hex(3)}:"
CACHES["default"]["KEY_PREFIX"] = f"{TEST_REDIS_PREFIX}cache"
