"""Project-wide pytest setup: the test database is PostgreSQL with btree_gist.

Tests that need a system program use ``require_program``: without it they skip with a loud
message, unless ``REQUIRE_ALL=1`` (CI), where a missing program fails the run.
"""

import os
import shutil
import sys

import pytest

# Row-level security (registry.rls): the test process's own statements (factories, services
# called directly, threads) run in the ``system`` scope, as management commands do; requests
# through the test client start with none and get their caller's, as in production. The test
# database is created and flushed by the owner role, and every connection runs as the app role.
os.environ.setdefault("REGISTRY_PROCESS_SCOPE", "system")


def require_program(name: str) -> str:
    """The program's path on ``PATH`` (only there: CI hides a program by leaving it off ``PATH``)."""
    found = shutil.which(name)
    if found:
        return found
    message = f"{name} is not installed: this test needs it (apt-get install {name})"
    if os.environ.get("REQUIRE_ALL") == "1":
        pytest.fail(f"REQUIRE_ALL=1 but {message}", pytrace=False)
    sys.stderr.write(f"\n*** SKIPPED: {message} ***\n")
    pytest.skip(f"SKIPPED LOUDLY: {message}")
    return ""  # unreachable


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters live in the cache: each test starts with none (the suite signs in far
    more often than the login rate allows one address)."""
    from django.core.cache import cache

    cache.clear()
