"""Tenant set-up pages (super-admins) and the read-only overview (account managers)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from connectors.access import tenants_visible_to


@login_required
def tenant_list(request: HttpRequest) -> HttpResponse:
    tenants = tenants_visible_to(request.user).order_by("name")
    return render(request, "connectors/tenant_list.html", {"tenants": tenants})
