"""Racing real threads against PostgreSQL, for tests of locks and unique indexes."""

from __future__ import annotations

import threading

from django.db import connection


def race(*actions):
    """Run the actions on their own threads, released together; return what each gave (or
    the exception it raised). Each thread closes its own database connection."""
    barrier = threading.Barrier(len(actions))
    results: list = [None] * len(actions)

    def run(i, action):
        try:
            barrier.wait(timeout=10)
            results[i] = action()
        except Exception as error:  # the outcome is what the test reads
            results[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results
