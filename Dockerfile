# One image for web, worker and beat (docker-compose.yml picks the command).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORTAL_VAR_DIR=/app/var

WORKDIR /app
COPY requirements.txt .
# A hashed lock (requirements.in → pip-compile): every package pinned and verified.
RUN pip install --require-hashes -r requirements.txt

COPY . .
# Static files are collected at build time (debug only for this step: no secrets exist yet);
# WhiteNoise serves them from the image.
RUN DJANGO_DEBUG=1 PORTAL_ENV_FILE=/dev/null python manage.py collectstatic --noinput -v 0 \
    && useradd --system --uid 10001 --home-dir /app portal \
    && mkdir -p /app/var && chown -R portal /app/var

USER portal
EXPOSE 8000
CMD ["gunicorn", "integration_portal.wsgi", "-c", "gunicorn.conf.py"]
