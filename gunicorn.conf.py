"""Gunicorn settings for the web container, read from the environment.

`gunicorn integration_portal.wsgi -c gunicorn.conf.py`. Workers are processes (sync, with a few
threads each): the views only validate, store and enqueue, so requests are short.
"""

import multiprocessing
import os

from gunicorn.glogging import Logger

from integration_portal.proxies import forwarded_allow_ips as forwarded_allow_ips_setting

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 8)))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
# Lever expects its webhook answered within seconds; a request stuck this long is killed.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
# Recycle workers now and then so a slow leak never takes the web tier down.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10
# The TLS-terminating proxy in front sets X-Forwarded-Proto and X-Forwarded-For; both are
# believed from these addresses only. Django reads the same setting (integration_portal/proxies.py).
forwarded_allow_ips = forwarded_allow_ips_setting()
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()


class MaskingLogger(Logger):
    """The access log with intake tokens and webhook ids masked wherever a URL appears.

    The request line, the path and the Referer header (a browser on the intake page sends the
    page's own URL as Referer to the portal) would otherwise write live tokens in full.
    """

    def atoms(self, resp, req, environ, request_time):
        from integration_portal.redaction import mask_url_secrets

        atoms = super().atoms(resp, req, environ, request_time)
        return {
            key: mask_url_secrets(value) if isinstance(value, str) else value
            for key, value in atoms.items()
        }


logger_class = MaskingLogger


# Prometheus multiprocess mode (integration_portal/metrics.py): each worker process writes its
# counters to files in PROMETHEUS_MULTIPROC_DIR; /metrics adds them up. Files of an earlier run
# would be counted again, so the folder is emptied at start, and a dead worker's gauges dropped.
def on_starting(server):
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        os.makedirs(folder, exist_ok=True)
        for name in os.listdir(folder):
            if name.endswith(".db"):
                os.remove(os.path.join(folder, name))


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


# Task publishing imports and sets up the broker client on first use; doing it here keeps that
# out of the first requests each worker serves (integration_portal/celery.py `warm_publisher`).
def post_worker_init(worker):
    from integration_portal.celery import warm_publisher

    warm_publisher()
