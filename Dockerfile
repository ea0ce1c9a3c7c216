# Touchbase API image. Migrate once per release: docker run --rm -e DATABASE_URL=... IMAGE touchbase migrate
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 --user-group touchbase \
    && install -d -o touchbase -g touchbase /var/lib/touchbase

WORKDIR /srv/touchbase

# Dependencies first, from pyproject.toml alone, so a source change reuses this layer. A stub
# package lets pip resolve and install them; the editable install maps "app" to ./app, which the
# real sources replace below. Editable also keeps alembic.ini and migrations/ next to app/.
COPY pyproject.toml ./
RUN mkdir app && touch app/__init__.py README.md \
    && pip install --editable . \
    && rm -rf app

COPY alembic.ini ./
COPY migrations/ migrations/
COPY app/ app/

USER touchbase
# Only used without DATABASE_URL (the embedded PostgreSQL); production sets DATABASE_URL.
ENV TOUCHBASE_DATA_DIR=/var/lib/touchbase/pgdata \
    XDG_RUNTIME_DIR=/tmp/touchbase-runtime

EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["touchbase", "serve", "--host", "0.0.0.0", "--port", "8000"]
