# Seam API, worker and scheduler image. PostgreSQL in production: set SEAM_DATABASE_URL.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /srv/seam

# Dependencies first, so code changes don't reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir -p app integrations && touch app/__init__.py integrations/__init__.py \
    && pip install . && pip uninstall -y seam

COPY app ./app
COPY integrations ./integrations
COPY examples ./examples
COPY alembic.ini ./
# The service user owns its working directory, so the SQLite default (seam.db here) is writable.
RUN pip install --no-deps -e . && useradd --system --home /srv/seam seam && chown -R seam /srv/seam
USER seam

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
# Serve only: migrate once per release with `seam db upgrade` from this image, not in every replica.
# Set SEAM_SECRET_KEY (and SEAM_DATABASE_URL): on PostgreSQL no process starts without a real key.
# Run `seam worker` / `seam scheduler` from the same image for background work.
CMD ["seam", "serve", "--host", "0.0.0.0", "--port", "8000"]
