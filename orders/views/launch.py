"""Manual launch: an account manager orders a check for a Lever opportunity by hand."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from orders.forms import LaunchForm
from orders.services.launch import LaunchError, order_launch_manual
from orders.views.actor import request_actor


@login_required
@require_http_methods(["GET", "POST"])
def order_launch_view(request: HttpRequest) -> HttpResponse:
    initial = {}
    if request.method == "GET" and request.GET.get("tenant"):
        initial["tenant"] = (
            LaunchForm(user=request.user)
            .fields["tenant"]
            .queryset.filter(slug=request.GET["tenant"])  # type: ignore[attr-defined]  # ModelChoiceField
            .first()
        )
    form = LaunchForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            order = order_launch_manual(
                tenant=form.cleaned_data["tenant"],
                reference=form.cleaned_data["reference"],
                package=form.cleaned_data["package"],
                actor=request_actor(request),
            )
        except LaunchError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, f"Order {order.pk} opened; it is being sent to Backcheck now."
            )
            return redirect("order-detail", order_id=order.pk)
    return render(request, "orders/launch.html", {"form": form})
