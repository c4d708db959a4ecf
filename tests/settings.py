"""Settings for the test suite: the real settings, with a throwaway secret key.

Everything else (DATABASE_URL, REDIS_URL) comes from the environment exactly as in
production, so CI exercises the same configuration code.
"""

import os
import secrets

os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret")
# A fixed Fernet key for the suite (tests-only, 32 bytes); subprocesses inherit it.
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "dGVzdHMtb25seS1maWVsZC1lbmNyeXB0aW9uLWtleSE=")

from config.settings import *  # noqa: F403
from config.settings import CACHES

# Every key this run writes to a shared Redis (Celery's and the cache's) starts with this,
# so the suite never touches anything else there and removes exactly its own keys at the end.
TEST_REDIS_PREFIX = f"threshold-test-{os.getpid()}-{secrets.token_hex(3)}:"
CACHES["default"]["KEY_PREFIX"] = f"{TEST_REDIS_PREFIX}cache"

# The reporting page works its figures out on every load, so tests that add data between two
# loads see it; tests/reporting/test_cache.py turns the cache on.
REPORTING_CACHE_SECONDS = 0

# The rate limits (docs/security.md) are lifted for the suite: many tests send referrals
# from one address and one email. The tests about a limit set its rate themselves.
RATE_REFERRAL_PER_ADDRESS = RATE_REFERRAL_PER_CONTACT = "100000/h"
RATE_SAVE_PER_ADDRESS = RATE_SAVE_PER_CONTACT = RATE_RESUME_PER_ADDRESS = "100000/h"
RATE_API_ANON = RATE_API_USER = RATE_API_REFERRALS = "100000/m"
RATE_PORTAL_PER_ADDRESS = RATE_PORTAL_PER_REFERENCE = "100000/h"
RATE_PORTAL_SIGN_IN_PER_ADDRESS = RATE_PORTAL_COPY_PER_REFERRAL = "100000/h"

# The suite reads the API schema (tests of the docs switch set it themselves).
API_DOCS_PUBLIC = True
