"""Who a request carries, named once for type annotations.

The portal uses Django's own User (AUTH_USER_MODEL is not swapped). Views behind
`login_required` (or connectors.tenants.access.super_admin_required) take an AuthenticatedHttpRequest;
code that also meets signed-out visitors takes an AnyUser.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest

# `request.user`: a User, or AnonymousUser for a signed-out visitor.
AnyUser = User | AnonymousUser


class AuthenticatedHttpRequest(HttpRequest):
    """For annotations only: the request of a view that only signed-in users reach, whose
    `user` is therefore a User. Requests are never built from this class."""

    user: User
