# One image for every service; the command chooses which one runs (`fusion serve SERVICE`).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
# Every dependency at the version and hash of the lock, in a layer that changes only with it ...
COPY requirements.lock ./
RUN python -m pip install --require-hashes --no-deps -r requirements.lock
# ... then Fusion itself, resolving nothing again (setuptools only builds it, in isolation).
COPY pyproject.toml README.md ./
COPY fusion fusion
COPY services services
COPY sim sim
COPY launcher launcher
COPY bench bench
RUN python -m pip install --no-deps . \
    && useradd --system --uid 10001 --home-dir /var/lib/fusion --create-home fusion
USER fusion
WORKDIR /var/lib/fusion
EXPOSE 8000
# Each service answers /<its prefix>/healthz: compose sets the URL per service.
ENV FUSION_HEALTH_URL=http://127.0.0.1:8000/apogee/healthz
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; r.urlopen(os.environ['FUSION_HEALTH_URL'], timeout=4)"]
CMD ["fusion", "serve", "apogee_api", "--host", "0.0.0.0", "--port", "8000"]
