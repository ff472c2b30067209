"""Sign-in attempts on the pages are throttled per client address."""

import pytest

pytestmark = pytest.mark.django_db


def test_page_login_attempts_are_throttled(client, settings):
    settings.THROTTLING_ENABLED = True
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login": "3/min"},
    }
    from django.core.cache import cache

    cache.clear()
    statuses = [
        client.post(
            "/login/", {"username": "nobody", "password": "wrong"}, REMOTE_ADDR="10.9.8.7"
        ).status_code
        for _ in range(5)
    ]
    assert statuses[:3] == [200, 200, 200]  # the form again, with the error
    assert statuses[3:] == [429, 429]
    # another address is not affected
    assert (
        client.post("/login/", {"username": "x", "password": "y"}, REMOTE_ADDR="10.9.8.8").status_code == 200
    )
    cache.clear()
