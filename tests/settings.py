"""Settings for the test suite: the real settings, with a throwaway secret key.

Everything else (DATABASE_URL, REDIS_URL) comes from the environment exactly as in
production, so CI exercises the same configuration code.
"""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret")

from config.settings import *  # noqa: F403
