"""The real URLs plus the two baselines the webhook benchmark compares against.

Both baselines run through the same middleware stack and gunicorn settings as the webhook:
- `bench/bare/`: answers 200 at once (the cost of the stack itself);
- `bench/insert/`: inserts the body as one row and answers 200 (the cost of one durable write).
"""

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from integration_portal.urls import urlpatterns as portal_urlpatterns

BASELINE_TABLE = "bench_insert_row"
CREATE_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {BASELINE_TABLE} (id bigserial PRIMARY KEY, body text NOT NULL, "
    "received_at timestamptz NOT NULL DEFAULT now())"
)


@csrf_exempt
def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b'{"status": "ok"}', content_type="application/json")


@csrf_exempt
def insert(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {BASELINE_TABLE} (body) VALUES (%s)", [request.body.decode()])
    return HttpResponse(b'{"status": "ok"}', content_type="application/json")


urlpatterns = [
    path("bench/bare/", bare, name="bench-bare"),
    path("bench/insert/", insert, name="bench-insert"),
    *portal_urlpatterns,
]
