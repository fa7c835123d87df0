"""Brute-force protection for the two password forms: `/login/` and `/admin/login/`.

After LOGIN_FAILURE_LIMIT failed sign-ins for one username from one address within
LOGIN_FAILURE_WINDOW_S, that pair is refused — without checking the password, so a correct guess
inside the window is not confirmed either — until the window has passed. Failures are counted
through Django's `user_login_failed` signal, so every form that calls `authenticate()` counts.

The address is the client's (integration_portal/proxies.py: X-Forwarded-For only from a proxy
listed in FORWARDED_ALLOW_IPS), and counting per username and address means a stranger's wrong
passwords pause that stranger only, never the named account for everyone. The counters live in the cache (Redis in production). If the cache is unreachable the
throttle fails open and logs it: a Redis outage must not lock operators out during an incident,
and the password check itself is unaffected.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from integration_portal.proxies import client_ip

if TYPE_CHECKING:
    from django.contrib.auth.forms import AuthenticationForm
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

LOGIN_FAILURE_LIMIT = 5
LOGIN_FAILURE_WINDOW_S = 15 * 60
THROTTLED_MESSAGE = (
    "Too many failed sign-in attempts for this username from your address. "
    "Sign-in is paused for 15 minutes; ask a super-admin if you need access sooner."
)


def _key(username: str, request: HttpRequest | None) -> str:
    address = (client_ip(request) if request is not None else "") or "unknown"
    digest = hashlib.sha256(f"{username.strip().casefold()}|{address}".encode()).hexdigest()
    return f"login-failures:{digest}"


def _username(request: HttpRequest) -> str:
    return str(request.POST.get("username", ""))[:150]


def failures(*, username: str, request: HttpRequest) -> int:
    try:
        return int(cache.get(_key(username, request)) or 0)
    except Exception as exc:  # the cache is down: fail open, say so
        logger.warning("login throttle unavailable (%s); not throttling", type(exc).__name__)
        return 0


def is_throttled(request: HttpRequest) -> bool:
    return (
        request.method == "POST"
        and failures(username=_username(request), request=request) >= LOGIN_FAILURE_LIMIT
    )


@receiver(user_login_failed, dispatch_uid="portal-login-failure-count")
def _count_failure(
    sender: Any, credentials: dict, request: HttpRequest | None = None, **kwargs: Any
) -> None:
    key = _key(str(credentials.get("username", ""))[:150], request)
    try:
        if cache.add(key, 1, timeout=LOGIN_FAILURE_WINDOW_S):
            return
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=LOGIN_FAILURE_WINDOW_S)
    except Exception as exc:
        logger.warning("login throttle unavailable (%s); failure not counted", type(exc).__name__)


@receiver(user_logged_in, dispatch_uid="portal-login-success-reset")
def _reset_on_success(
    sender: type[User], request: HttpRequest | None, user: User, **kwargs: Any
) -> None:
    try:
        cache.delete(_key(user.get_username(), request))
    except Exception as exc:
        logger.warning("login throttle unavailable (%s); counter not reset", type(exc).__name__)


def _refuse(request: HttpRequest) -> None:
    logger.warning("sign-in throttled for a username after %s failures", LOGIN_FAILURE_LIMIT)
    messages.error(request, THROTTLED_MESSAGE)


class ThrottledLoginView(auth_views.LoginView):
    """Django's LoginView, refusing a throttled username+address before any password check.

    Its form also asks for the second factor of users who have one (integration_portal/two_factor.py).
    """

    def get_form_class(self) -> type[AuthenticationForm]:
        from integration_portal.two_factor import PortalAuthenticationForm

        return PortalAuthenticationForm

    def form_valid(self, form: Any) -> HttpResponse:  # a PortalAuthenticationForm
        from integration_portal.two_factor import on_login

        response = super().form_valid(form)
        on_login(self.request, form)
        return response

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if is_throttled(request):
            _refuse(request)
            form = self.get_form_class()(request)  # unbound: the password is never checked
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)


def admin_login(request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
    """The admin's own login page, behind the same throttle (mounted before `admin/`)."""
    if is_throttled(request):
        _refuse(request)
        response = admin.site.login(_as_get(request), extra_context)
        response.status_code = 429
        return response
    return admin.site.login(request, extra_context)


def _as_get(request: HttpRequest) -> HttpRequest:
    request.method = "GET"
    return request
