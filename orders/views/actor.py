"""Who acts, as the services and the OrderAction audit rows name them."""

from __future__ import annotations

from django.http import HttpRequest


def request_actor(request: HttpRequest) -> str:
    return request.user.get_username()
