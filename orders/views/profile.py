"""The signed-in user's own preferences page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from integration_portal.users import AuthenticatedHttpRequest
from orders.forms import ProfileForm
from orders.models import UserProfile


@login_required
@require_http_methods(["GET", "POST"])
def profile_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The signed-in user's own preferences."""
    profile, _ = UserProfile.objects.get_or_create(user=request.user)
    form = ProfileForm(request.POST if request.method == "POST" else None, instance=profile)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(
            request,
            "Attention emails are on." if profile.attention_emails else "Attention emails are off.",
        )
        return redirect("profile")
    return render(request, "orders/profile.html", {"form": form, "profile": profile})
