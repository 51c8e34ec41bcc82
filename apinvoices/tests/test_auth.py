"""Login, throttling and logout through the real login form."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apinvoices.models import LoginFailure
from apinvoices.services.auth import login_failure_record, login_is_throttled

pytestmark = pytest.mark.django_db
LOGIN = reverse("login")
PASSWORD = "correct-horse-battery"  # UserFactory's password


def _login(client, username, password, ip="10.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_login_page_renders_for_anonymous_users(client):
    response = client.get(LOGIN)

    assert response.status_code == 200
    assert b"AP Workbench" in response.content
    assert b'name="password"' in response.content


def test_correct_password_logs_in_and_lands_on_the_inbox(client, cast):
    response = _login(client, "clerk", PASSWORD)

    assert response.status_code == 302
    assert response.url == reverse("apinvoices:inbox")
    assert client.get(reverse("apinvoices:inbox")).status_code == 200


def test_wrong_password_says_so_and_records_a_failure(client, cast):
    response = _login(client, "clerk", "wrong")

    assert response.status_code == 200
    assert "The username or password is wrong" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert LoginFailure.objects.filter(username="clerk", ip_address="10.0.0.1").count() == 1


def test_after_max_failures_even_the_correct_password_is_refused(client, cast, settings):
    settings.LOGIN_MAX_FAILURES = 3
    for _ in range(3):
        _login(client, "clerk", "wrong")

    response = _login(client, "clerk", PASSWORD)

    body = response.content.decode()
    assert response.status_code == 200
    assert "Too many failed attempts; try again in 15 minutes." in body
    assert "_auth_user_id" not in client.session
    # The refusal is decided before the password is checked, so it records nothing new.
    assert LoginFailure.objects.filter(username="clerk").count() == 3


def test_throttle_per_address_covers_other_usernames(client, cast, settings):
    settings.LOGIN_MAX_FAILURES = 3
    for name in ("a", "b", "c"):
        _login(client, name, "guess", ip="10.9.9.9")

    refused = _login(client, "clerk", PASSWORD, ip="10.9.9.9")
    elsewhere = _login(client, "clerk", PASSWORD, ip="10.1.1.1")

    assert "Too many failed attempts" in refused.content.decode()
    assert elsewhere.status_code == 302


def test_throttle_is_case_insensitive_on_the_username(client, cast, settings):
    settings.LOGIN_MAX_FAILURES = 2
    _login(client, "Clerk", "wrong", ip="10.0.0.2")
    _login(client, "CLERK", "wrong", ip="10.0.0.3")

    assert "Too many failed attempts" in _login(client, "clerk", PASSWORD, ip="10.0.0.4").content.decode()


def test_failures_older_than_the_window_do_not_count(cast, settings):
    settings.LOGIN_MAX_FAILURES = 2
    settings.LOGIN_FAILURE_WINDOW = 600
    old = timezone.now() - timedelta(seconds=601)
    LoginFailure.objects.create(username="clerk", ip_address="10.0.0.1", at=old)
    LoginFailure.objects.create(username="clerk", ip_address="10.0.0.1", at=old)

    assert login_is_throttled(username="clerk", ip_address="10.0.0.1") is None

    login_failure_record(username="clerk", ip_address="10.0.0.1")
    login_failure_record(username="clerk", ip_address="10.0.0.1")
    throttle = login_is_throttled(username="clerk", ip_address="10.0.0.1")
    assert throttle is not None and throttle.retry_after_minutes == 10


def test_success_clears_that_users_failures_only(client, cast):
    _login(client, "clerk", "wrong")
    _login(client, "approver", "wrong", ip="10.0.0.5")

    assert _login(client, "clerk", PASSWORD).status_code == 302

    assert not LoginFailure.objects.filter(username="clerk").exists()
    assert LoginFailure.objects.filter(username="approver").count() == 1


def test_logout_needs_post(client, cast):
    client.force_login(cast.clerk)

    assert client.get(reverse("logout")).status_code == 405
    assert "_auth_user_id" in client.session

    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response.url == reverse("login")
    assert "_auth_user_id" not in client.session


def test_anonymous_users_are_sent_to_login(client):
    response = client.get(reverse("apinvoices:inbox"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_behind_a_trusted_proxy_the_forwarded_address_is_throttled(client, cast, settings):
    """GIVEN one proxy in front WHEN two people fail from different addresses
    THEN each address has its own budget, and a forged left-most entry changes nothing."""
    settings.AP_TRUSTED_PROXY_COUNT = 1
    settings.LOGIN_MAX_FAILURES = 2
    proxy = "127.0.0.1"
    for forged in ("1.1.1.1", "2.2.2.2"):
        client.post(LOGIN, {"username": f"x{forged}", "password": "no"}, REMOTE_ADDR=proxy,
                    HTTP_X_FORWARDED_FOR=f"{forged}, 203.0.113.7")

    refused = client.post(LOGIN, {"username": "clerk", "password": PASSWORD}, REMOTE_ADDR=proxy,
                          HTTP_X_FORWARDED_FOR="203.0.113.7")
    other = client.post(LOGIN, {"username": "clerk", "password": PASSWORD}, REMOTE_ADDR=proxy,
                        HTTP_X_FORWARDED_FOR="198.51.100.4")

    assert "Too many failed attempts" in refused.content.decode()
    assert other.status_code == 302
    assert set(LoginFailure.objects.values_list("ip_address", flat=True)) == {"203.0.113.7"}
