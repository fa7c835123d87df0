"""Two-factor sign-in (TOTP, through django-otp) with recovery codes.

- Super-admins can replace every tenant's credentials, so with debug off
  (`TWO_FACTOR_REQUIRED_FOR_SUPER_ADMINS`) a super-admin without a confirmed authenticator is sent
  to /account/two-factor/ before anything else. Account managers may set one up; once they have,
  it is required for them too.
- A user with a confirmed device signs in with username, password and a 6-digit code, or one of
  ten single-use recovery codes. A wrong code counts as a failed sign-in (the login throttle,
  integration_portal/auth.py, counts it per username and address).
- A session signed in without the second factor (the admin's own login form, say) is ended as
  soon as it is used while the user has a device.

API tokens (integration_portal/api_tokens) are outside this: scripts hold no authenticator.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from integration_portal.users import AnyUser, AuthenticatedHttpRequest

if TYPE_CHECKING:
    from django.contrib.auth.models import User

RECOVERY_CODES = 10
SETUP_URL_NAME = "two-factor"
# Paths a signed-in user may reach before the second factor is settled.
_OPEN_PREFIXES = ("/account/two-factor/", "/logout/", "/login/", "/static/", "/healthz", "/readyz")


def required_for(user: AnyUser) -> bool:
    """Whether the user must have a confirmed authenticator."""
    return bool(
        getattr(settings, "TWO_FACTOR_REQUIRED_FOR_SUPER_ADMINS", True)
        and user.is_authenticated
        and user.is_superuser
    )


class PortalAuthenticationForm(AuthenticationForm):
    """Username, password and, for a user with an authenticator, its code."""

    otp_token = forms.CharField(
        required=False,
        max_length=32,
        label="Authentication code",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.otp_device = None
        self.otp_failed = False

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()  # the password first: a code proves nothing on its own
        user = self.get_user()
        if user is None or not user_has_device(user):
            return cleaned
        token = "".join(str(cleaned.get("otp_token") or "").split())
        device = match_token(user, token) if token else None
        if device is None:
            # A wrong code counts against the throttle like a wrong password.
            user_login_failed.send(
                sender=__name__,
                credentials={"username": user.get_username()},
                request=self.request,
            )
            self.otp_failed = True
            raise forms.ValidationError(
                "Enter the 6-digit code from your authenticator app, or a recovery code.",
                code="otp_required",
            )
        self.otp_device = device
        return cleaned


class TwoFactorMiddleware:
    """After AuthenticationMiddleware and django-otp's OTPMiddleware."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(_OPEN_PREFIXES)
        ):
            verified = user.is_verified() if hasattr(user, "is_verified") else False
            if user_has_device(user) and not verified:
                # Signed in with the password alone: start again, with the code.
                logout(request)
                return redirect(f"{reverse('login')}?next={quote(request.get_full_path())}")
            if not verified and required_for(user):
                return redirect(SETUP_URL_NAME)
        return self.get_response(request)


def on_login(request: HttpRequest, form: PortalAuthenticationForm) -> None:
    if form.otp_device is not None:
        otp_login(request, form.otp_device)


class CodeForm(forms.Form):
    code = forms.CharField(
        max_length=12,
        label="Code from the app",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


def _new_recovery_codes(user: User) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(user=user, name="recovery")
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


@never_cache
@login_required
@sensitive_post_parameters("code")
def two_factor_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Set up an authenticator (shows its key once), confirm it with a code, get recovery codes."""
    user = request.user
    confirmed = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if confirmed is not None:
        if request.method == "POST" and request.POST.get("action") == "recovery":
            form = CodeForm(request.POST)
            if form.is_valid() and confirmed.verify_token(form.cleaned_data["code"].strip()):
                codes = _new_recovery_codes(user)
                return render(request, "account/recovery_codes.html", {"codes": codes})
            messages.error(request, "That code did not match; no new recovery codes were made.")
        left = StaticToken.objects.filter(device__user=user).count()
        return render(
            request,
            "account/two_factor.html",
            {"confirmed": True, "recovery_left": left, "form": CodeForm()},
        )

    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"].strip()):
            with transaction.atomic():
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                codes = _new_recovery_codes(user)
            otp_login(request, device)
            return render(request, "account/recovery_codes.html", {"codes": codes})
        form.add_error("code", "That code did not match. Check the time on your phone and retry.")
    key = base64.b32encode(device.bin_key).decode().rstrip("=")
    return render(
        request,
        "account/two_factor.html",
        {
            "confirmed": False,
            "required": required_for(user),
            "key": " ".join(key[i : i + 4] for i in range(0, len(key), 4)),
            "config_url": device.config_url,
            "form": form,
        },
    )
