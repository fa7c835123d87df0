"""Mounted at /intake/ (integration_portal/urls.py). The public page's token is 43 URL-safe
characters (secrets.token_urlsafe(32)); the pattern admits a little more and never `manage`."""

from django.urls import path, re_path

from connectors.tenants import intake_views

urlpatterns = [
    path("manage/", intake_views.intake_link_list_view, name="intake-link-list"),
    path(
        "manage/<slug:slug>/new/",
        intake_views.intake_link_create_view,
        name="intake-link-create",
    ),
    path(
        "manage/<slug:slug>/<int:link_id>/revoke/",
        intake_views.intake_link_revoke_view,
        name="intake-link-revoke",
    ),
    path(
        "manage/<slug:slug>/<int:link_id>/dismiss/",
        intake_views.intake_notice_dismiss_view,
        name="intake-notice-dismiss",
    ),
    re_path(r"^(?P<token>[A-Za-z0-9_-]{20,128})/$", intake_views.intake_page, name="intake-page"),
]
