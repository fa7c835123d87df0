"""The Celery app. Broker and policy come from settings (CELERY_* names)."""

import logging
import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integration_portal.settings")

app = Celery("integration_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Celery's Django fixup closes every database connection before and after each task, whatever
# CONN_MAX_AGE says (celery/celery#9824 restored that in 5.6), unless CELERY_DB_REUSE_MAX is set.
# A note delivery is a few short queries, so a new PostgreSQL connection per task (a backend
# forked and its catalog caches warmed) cost more CPU than the task's own work: 3,000 notes made
# 6,936 connections. With a reuse count set, the fixup only recycles every that many tasks, and
# `_django_connection_rules` below applies Django's own per-request rules to each task instead.
app.conf.CELERY_DB_REUSE_MAX = 1000
app.autodiscover_tasks()


@signals.task_prerun.connect(weak=False)
@signals.task_postrun.connect(weak=False)
def _django_connection_rules(sender=None, **kwargs) -> None:
    """What Django does around each web request: drop a connection older than CONN_MAX_AGE,
    broken by an error or left inside a transaction, and health-check it before first use
    (CONN_HEALTH_CHECKS)."""
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


def warm_publisher() -> None:
    """Do at a web worker's start what its first publish would otherwise do inside a request.

    The first `apply_async` of a process imports the broker transport (kombu's Redis transport
    pulls in redis-py, ~150 ms of imports), binds the task registry and resolves the result
    backend: 80-240 ms spent between one webhook's answer and its task reaching a worker, once
    per web process and again after every recycle (gunicorn `max_requests`). No network I/O
    here: the producer's connection is lazy, so a broker that is down cannot hold up a boot.
    """
    try:
        app.tasks  # noqa: B018 - finalizes the app: binds every shared task
        app.backend  # noqa: B018 - resolves the (disabled) result backend once
        with app.producer_or_acquire() as producer:
            producer.connection.transport  # noqa: B018 - imports the transport module
    except Exception:  # a warm-up failing must never stop the web worker from serving
        logging.getLogger(__name__).warning("could not prepare the task publisher", exc_info=True)
