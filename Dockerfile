# Partnerbook API image. It expects a PostgreSQL server: set PARTNERBOOK_DATABASE_URL
# (docker-compose.yml does). Binding to 0.0.0.0, as this image does, requires it; the
# embedded PostgreSQL is for running on your own machine, not in a container.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# pyproject.toml names README.md as the package's readme: the build needs it.
COPY pyproject.toml README.md ./
COPY app ./app
RUN pip install . && rm -rf /src

RUN useradd --create-home --uid 10001 partnerbook
USER partnerbook
WORKDIR /home/partnerbook

ENV PARTNERBOOK_PORT=8000
EXPOSE 8000

HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PARTNERBOOK_PORT', '8000'), timeout=4)"]

CMD ["partnerbook", "serve", "--host", "0.0.0.0"]
