"""Pages of the credential intake link (issue 9).

The public page (/intake/<token>/) needs no portal account: holding the token is the
authorization. Everything it renders or receives is private, so every response of it is
`Cache-Control: no-store` and `Referrer-Policy: same-origin` (the token is in the URL and must not
travel to Lever's help pages in a Referer; the portal itself receives it, and its access log masks
it, so that browsers send a real Origin with the form and Django's CSRF check applies unchanged), and the typed values are hidden from Django's error
reports. The management views (create, revoke, dismiss, list) are for super-admins and the
tenant's own account managers; another tenant's link is a 404, like every tenant object.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from connectors.models import IntakeLink, Tenant
from connectors.tenants import intake_links, intake_submit
from connectors.tenants.access import tenant_get_for_user
from integration_portal import proxies
from integration_portal.redaction import register_secret
from integration_portal.users import AuthenticatedHttpRequest

SECRET_POST_FIELDS = ("lever_api_key", "signature_token")

CLOSED_TEXT = {
    IntakeLink.USED: (
        "This link has already been used",
        "The credentials were received. A link works once; if they need to change, ask your "
        "account manager for a new link.",
    ),
    IntakeLink.EXPIRED: (
        "This link has expired",
        "Links work for a limited time. Ask your account manager for a new link.",
    ),
    IntakeLink.REVOKED: (
        "This link was withdrawn",
        "Your account manager withdrew this link. Ask them for a new one.",
    ),
    IntakeLink.LOCKED: (
        "This link is locked",
        "Lever refused too many keys entered through this link, so it no longer accepts any. "
        "Ask your account manager for a new link.",
    ),
}


def _private(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """No caching anywhere, no Referer to other sites, no indexing — on every response."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        add_never_cache_headers(response)  # includes no-store
        response["Referrer-Policy"] = "same-origin"
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return wrapper


def client_ip(request: HttpRequest) -> str | None:
    # X-Forwarded-For counts only from a trusted proxy: otherwise anyone could pick the address
    # the rate limit and the audit see.
    return proxies.client_ip(request)


def _secret_input() -> forms.PasswordInput:
    # Write-only: render_value=False (the default) never echoes a typed value back into the page.
    return forms.PasswordInput(
        attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off"}
    )


class IntakeForm(forms.Form):
    lever_api_key = forms.CharField(label="Lever API key", max_length=500, widget=_secret_input())
    signature_token = forms.CharField(
        label="Webhook signature token", max_length=500, widget=_secret_input()
    )


def _closed(request: HttpRequest, state: str, tenant: Tenant | None) -> HttpResponse:
    if state not in CLOSED_TEXT:
        return render(
            request,
            "intake/closed.html",
            {
                "title": "This link is not valid",
                "text": "Check that you copied the whole address, or ask your account manager for "
                "a new link.",
            },
            status=404,
        )
    title, text = CLOSED_TEXT[state]
    return render(
        request, "intake/closed.html", {"title": title, "text": text, "tenant": tenant}, status=410
    )


def _page(request: HttpRequest, link: IntakeLink, form: IntakeForm, **extra: Any) -> HttpResponse:
    context = {
        "tenant": link.tenant,
        "link": link,
        "form": form,
        "webhook_url": link.tenant.webhook_url,
        "max_attempts": IntakeLink.MAX_FAILED_ATTEMPTS,
        **extra,
    }
    # Re-rendered forms answer 200 like any Django form: a 4xx would make Django's request
    # logger print this path, and the path holds the still-live token.
    return render(request, "intake/page.html", context)


@sensitive_post_parameters(*SECRET_POST_FIELDS)
@csrf_exempt  # CSRF is enforced inside, by `_intake_page`, once the token is masked in logs
def intake_page(request: HttpRequest, token: str) -> HttpResponse:
    link = intake_links.intake_link_get_by_token(token=token)
    if link is not None:
        # A live token is as good as a password until used: mask it in any log line of this
        # process (Django's request and CSRF loggers print the path of every refusal).
        register_secret(token)
    return _intake_page(request, token=token, link=link)


@_private
@csrf_protect
@require_http_methods(["GET", "POST"])
@sensitive_variables("form")
def _intake_page(request: HttpRequest, *, token: str, link: IntakeLink | None) -> HttpResponse:
    ip = client_ip(request)
    if request.method == "POST":
        try:
            wait = intake_submit.intake_rate_limit_hit(ip=ip, token=token)
        except intake_submit.RateLimitUnavailable:
            # Fail closed: an unmetered credential form is worse than a short outage.
            response = render(
                request,
                "intake/closed.html",
                {
                    "title": "Please try again shortly",
                    "text": "The portal cannot take submissions right now. Nothing was stored.",
                },
                status=503,
            )
            response["Retry-After"] = "30"
            return response
        if wait > 0:
            response = render(
                request,
                "intake/closed.html",
                {
                    "title": "Too many attempts",
                    "text": "Please wait a minute before trying again. Nothing was stored.",
                },
                status=429,
            )
            response["Retry-After"] = str(int(wait) + 1)
            return response
    if link is None:
        return _closed(request, "unknown", None)
    state = link.state
    if state != IntakeLink.OPEN:
        return _closed(request, state, link.tenant)

    if request.method == "GET":
        return _page(request, link, IntakeForm())

    form = IntakeForm(request.POST)
    if not form.is_valid():
        return _page(request, link, IntakeForm(), bound_errors=form.errors)
    try:
        outcome = intake_submit.intake_link_submit(
            link=link,
            api_key=form.cleaned_data["lever_api_key"],
            signature_token=form.cleaned_data["signature_token"],
            ip=ip,
        )
    except intake_submit.IntakeLinkClosed as exc:
        return _closed(request, exc.state, link.tenant)
    if outcome.ok:
        return render(
            request, "intake/done.html", {"tenant": link.tenant, "warnings": outcome.warnings}
        )
    if outcome.state == IntakeLink.LOCKED:
        title, text = CLOSED_TEXT[IntakeLink.LOCKED]
        return render(
            request,
            "intake/closed.html",
            {
                "title": title,
                "text": text,
                "tenant": link.tenant,
                "reasons": outcome.errors.get("lever_api_key", []),
            },
            status=410,
        )
    # A fresh, empty form: the refused values are never sent back to the browser.
    return _page(
        request,
        link,
        IntakeForm(),
        bound_errors=outcome.errors,
        attempts_left=outcome.attempts_left,
    )


# --- management (super-admins and the tenant's account managers) ----------------------------


def _tenant_link(request: HttpRequest, slug: str, link_id: int) -> IntakeLink:
    tenant = tenant_get_for_user(request.user, slug=slug)
    link = intake_links.intake_link_get_for_user(user=request.user, tenant=tenant, link_id=link_id)
    if link is None:
        raise Http404("No such intake link.")
    return link


def _back_to_tenant(slug: str) -> HttpResponse:
    return redirect(reverse("tenant-detail", args=[slug]) + "#intake")


@login_required
@require_POST
@_private
def intake_link_create_view(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    tenant = tenant_get_for_user(request.user, slug=slug)
    link, token = intake_links.intake_link_create(tenant=tenant, actor=request.user)
    # Rendered, not redirected: the token exists only in this response (it is not stored).
    return render(
        request,
        "intake/created.html",
        {"tenant": tenant, "link": link, "url": intake_links.intake_link_url(token)},
    )


@login_required
@require_POST
def intake_link_revoke_view(
    request: AuthenticatedHttpRequest, slug: str, link_id: int
) -> HttpResponse:
    link = _tenant_link(request, slug, link_id)
    if intake_links.intake_link_revoke(link=link, actor=request.user):
        messages.success(request, f"Intake link #{link.pk} is revoked; it no longer opens.")
    else:
        messages.info(request, f"Intake link #{link.pk} was already {link.state}; no change.")
    return _back_to_tenant(slug)


@login_required
@require_POST
def intake_notice_dismiss_view(
    request: AuthenticatedHttpRequest, slug: str, link_id: int
) -> HttpResponse:
    link = _tenant_link(request, slug, link_id)
    intake_links.intake_notice_dismiss(link=link, actor=request.user)
    next_url = request.POST.get("next")
    if next_url == reverse("intake-link-list"):
        return redirect(next_url)
    return _back_to_tenant(slug)


@login_required
def intake_link_list_view(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "intake/link_list.html",
        {
            "notices": intake_links.intake_notice_list(user=request.user),
            "links": intake_links.intake_link_list(user=request.user)[:200],
        },
    )
