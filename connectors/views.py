"""Tenant set-up pages (super-admins) and the read-only overview (account managers).

Role checks come first (a page the role may not use is a 403 whatever the tenant), then the
tenant lookup through connectors.tenants.access (another tenant's object is a 404). Views parse input and
call one service; they hold no rules of their own.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from connectors.checks import tenant_check
from connectors.forms import ManagersForm, PackageForm, SecretForm, TenantForm, add_service_errors
from connectors.lever.checks import lever_directory
from connectors.models import SECRET_FIELDS, Tenant
from connectors.tenants import credentials, health, packages, selectors, services
from connectors.tenants.access import is_super_admin, super_admin_required
from integration_portal.users import AuthenticatedHttpRequest


def _tenant(request: HttpRequest, slug: str) -> Tenant:
    return selectors.tenant_get(user=request.user, slug=slug)


@login_required
def tenant_list(request: HttpRequest) -> HttpResponse:
    tenants = selectors.tenant_list(user=request.user)
    return render(
        request,
        "connectors/tenant_list.html",
        {"tenants": tenants, "can_edit": is_super_admin(request.user)},
    )


@login_required
def tenant_detail(request: HttpRequest, slug: str) -> HttpResponse:
    tenant = _tenant(request, slug)
    setup = is_super_admin(request.user)
    context = {
        "tenant": tenant,
        "setup": setup,
        "settings_rows": selectors.tenant_settings(tenant=tenant),
        "packages": selectors.package_list(tenant=tenant),
        "managers": tenant.account_managers.order_by("username"),
        "check": tenant.last_check_result,
        "secret_statuses": selectors.tenant_secret_statuses(tenant=tenant),
    }
    if setup:
        context["previous_token_masked"] = selectors.tenant_previous_token_masked(tenant=tenant)
        context["audit_entries"] = selectors.tenant_audit_list(tenant=tenant, limit=50)
    return render(request, "connectors/tenant_detail.html", context)


@super_admin_required
@require_http_methods(["GET", "POST"])
def tenant_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = TenantForm(request.POST or None, initial={"lever_environment": "production"})
    if request.method == "POST" and form.is_valid():
        try:
            tenant = services.tenant_create(
                actor=request.user, slug=form.cleaned_data["slug"], **form.settings()
            )
        except ValidationError as exc:
            add_service_errors(form, exc, TenantForm.ALIASES)
        else:
            messages.success(request, f"Tenant {tenant.name} created. Now set its credentials.")
            return redirect("tenant-detail", slug=tenant.slug)
    return render(request, "connectors/tenant_form.html", {"form": form, "tenant": None})


@super_admin_required
@require_http_methods(["GET", "POST"])
def tenant_edit(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    tenant = _tenant(request, slug)
    pickers = _lever_pickers(request, tenant)
    form = TenantForm(
        request.POST or None,
        initial=TenantForm.initial_for(tenant),
        editing=True,
        tenant=tenant,
        stage_choices=pickers["stage_choices"],
        user_choices=pickers["user_choices"],
    )
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.tenant_update(tenant=tenant, actor=request.user, **form.settings())
        except ValidationError as exc:
            add_service_errors(form, exc, TenantForm.ALIASES)
        else:
            messages.success(
                request, f"Saved: {', '.join(changed)}." if changed else "Nothing changed."
            )
            return redirect("tenant-detail", slug=tenant.slug)
    return render(
        request,
        "connectors/tenant_form.html",
        {"form": form, "tenant": tenant, "lever_problem": pickers["problem"]},
    )


def _lever_pickers(request: HttpRequest, tenant: Tenant) -> dict[str, Any]:
    """Choices for the stage and author pickers, or None where ids must be typed.

    The names come from the lists Lever last gave (Test connection, or this page's "Read
    Lever's lists again", which reads them with the stored key); showing the form never calls
    Lever on its own. The POST validates against the same remembered names (hidden `pick_*`
    fields say which pickers the page showed).
    """
    result: dict[str, Any] = {"stage_choices": None, "user_choices": None, "problem": ""}
    if request.method == "POST":
        shown = {kind for kind in ("stages", "users") if request.POST.get(f"pick_{kind}")}
    else:
        if request.GET.get("refresh") and tenant.lever_api_key:
            directory = lever_directory(tenant)
            result["problem"] = directory.problem
            health.tenant_record_lever_names(
                tenant=tenant,
                stages={s.id: s.text for s in directory.stages or []},
                users={u.id: u.name for u in directory.users or []},
            )
        shown = (
            {kind for kind, found in (tenant.lever_names or {}).items() if found}
            if tenant.lever_api_key
            else set()
        )
    names = tenant.lever_names or {}
    if "stages" in shown:
        stages = names.get("stages") or {}
        choices = [(sid, f"{name} ({sid})") for sid, name in stages.items()]
        choices += [
            (sid, f"{sid} (not in Lever's list)")
            for sid in tenant.trigger_stage_ids or []
            if sid not in stages
        ]
        result["stage_choices"] = choices
    if "users" in shown:
        users = names.get("users") or {}
        choices = sorted(((uid, name) for uid, name in users.items()), key=lambda c: c[1].lower())
        author = tenant.note_author_user_id
        if author and author not in users:
            choices.append((author, f"{author} (not in Lever's list)"))
        result["user_choices"] = choices
    return result


# An error report (the 500 logger, an error e-mail) must not carry the value typed in.
@sensitive_post_parameters("value")
@super_admin_required
@require_http_methods(["GET", "POST"])
@sensitive_variables("form")  # innermost: it can only mark the frame it directly wraps
def tenant_secret(request: AuthenticatedHttpRequest, slug: str, name: str) -> HttpResponse:
    tenant = _tenant(request, slug)
    if name not in SECRET_FIELDS:
        raise Http404("No such credential.")
    status = next(s for s in selectors.tenant_secret_statuses(tenant=tenant) if s.name == name)
    form = SecretForm(request.POST or None)
    if request.method == "POST" and request.POST.get("action") == "retire":
        if name != "lever-signature-token":
            raise Http404("Only the signature token has a previous value.")
        retired = credentials.tenant_retire_previous_token(tenant=tenant, actor=request.user)
        messages.success(
            request,
            "The previous signature token is retired; only the current one verifies now."
            if retired
            else "No previous signature token was kept; nothing to retire.",
        )
        return redirect("tenant-detail", slug=tenant.slug)
    if request.method == "POST" and form.is_valid():
        try:
            changed = credentials.tenant_set_secret(
                tenant=tenant, actor=request.user, name=name, value=form.cleaned_data["value"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if not changed:
                messages.info(request, f"The {status.label} is unchanged (same value).")
            elif name == "lever-signature-token" and tenant.lever_signature_token_previous:
                messages.success(
                    request,
                    "New signature token stored. The previous one stays valid until you retire "
                    "it (once Lever delivers with the new one).",
                )
            else:
                messages.success(request, f"The {status.label} is stored (encrypted).")
            return redirect("tenant-detail", slug=tenant.slug)
    return render(
        request,
        "connectors/tenant_secret.html",
        {
            "tenant": tenant,
            "form": form,
            "status": status,
            "previous_token_masked": selectors.tenant_previous_token_masked(tenant=tenant)
            if name == "lever-signature-token"
            else "",
        },
    )


@super_admin_required
@require_http_methods(["GET", "POST"])
def tenant_packages(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    tenant = _tenant(request, slug)
    add_form = PackageForm(prefix="new")
    edit_forms: dict[int, PackageForm] = {}
    if request.method == "POST":
        action = request.POST.get("action")
        package = None
        if action in ("update", "remove"):
            package = selectors.package_get(tenant=tenant, package_id=request.POST.get("package"))
            if package is None:
                raise Http404("No such package.")
            if action == "remove":
                packages.package_remove(package=package, actor=request.user)
                messages.success(request, f"Package {package.code} removed.")
                return redirect("tenant-packages", slug=tenant.slug)
        if action == "add":
            form = add_form = PackageForm(request.POST, prefix="new")
        elif package is not None:  # "update": "remove" has returned above
            form = PackageForm(request.POST, prefix=f"p{package.pk}")
            edit_forms[package.pk] = form
        else:
            return HttpResponse("Unknown action.", status=400)
        if form.is_valid():
            try:
                if package is None:
                    created = packages.package_add(
                        tenant=tenant, actor=request.user, **form.cleaned_data
                    )
                    messages.success(request, f"Package {created.code} added.")
                else:
                    packages.package_update(
                        package=package, actor=request.user, **form.cleaned_data
                    )
                    messages.success(request, f"Package {package.code} saved.")
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                return redirect("tenant-packages", slug=tenant.slug)
    rows = []
    for package in selectors.package_list(tenant=tenant):
        form = edit_forms.get(package.pk) or PackageForm(
            prefix=f"p{package.pk}",
            initial={
                "code": package.code,
                "name": package.name,
                "lever_tag": package.lever_tag,
                "is_default": package.is_default,
            },
        )
        rows.append((package, form))
    return render(
        request,
        "connectors/tenant_packages.html",
        {"tenant": tenant, "rows": rows, "add_form": add_form},
    )


@super_admin_required
@require_http_methods(["GET", "POST"])
def tenant_managers(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    tenant = _tenant(request, slug)
    form = ManagersForm(
        request.POST or None, initial={"managers": list(tenant.account_managers.all())}
    )
    if request.method == "POST" and form.is_valid():
        try:
            summary = services.tenant_assign_managers(
                tenant=tenant, actor=request.user, users=form.cleaned_data["managers"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc, {"account_managers": "managers"})
        else:
            messages.success(
                request, ("Account managers " + "; ".join(summary)) if summary else "No change."
            )
            return redirect("tenant-detail", slug=tenant.slug)
    return render(request, "connectors/tenant_managers.html", {"tenant": tenant, "form": form})


@login_required
@require_POST
def tenant_check_view(request: HttpRequest, slug: str) -> HttpResponse:
    # Super-admins and the tenant's own account managers; the lookup is the scoping.
    tenant = _tenant(request, slug)
    result = tenant_check(tenant)
    if result["status"] == "ok":
        messages.success(request, "Test connection: Lever and Backcheck are both reachable.")
    else:
        messages.error(request, "Test connection found a problem; see the result below.")
    return redirect("tenant-detail", slug=tenant.slug)
