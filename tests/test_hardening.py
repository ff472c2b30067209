"""Deployment hardening visible from outside: headers, CSP, docs without inline script."""

import re

import pytest

pytestmark = pytest.mark.django_db


def test_pages_send_a_strict_content_security_policy_and_security_headers(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_swagger_ui_needs_no_inline_script_and_nothing_from_a_cdn(client):
    html = client.get("/api/docs/").content.decode()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts
    for attributes, body in scripts:
        assert "src=" in attributes, "inline script would be blocked by the CSP"
        assert not body.strip()
    assert "//cdn" not in html
    assert "unpkg" not in html
    assert "jsdelivr" not in html
