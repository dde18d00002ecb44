# Seam API, worker and scheduler image. PostgreSQL in production: set SEAM_DATABASE_URL.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /srv/seam

# Dependencies first, so code changes don't reinstall them: exactly the versions and files of the lock
# (`scripts/lock` writes it from pyproject.toml); a download whose hash differs fails the build.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY integrations ./integrations
COPY examples ./examples
# Seam itself, resolving nothing: every dependency came from the lock above.
# The service user owns its working directory, so the SQLite default (seam.db here) is writable.
RUN pip install --no-deps . && rm -rf build *.egg-info \
    && useradd --system --home /srv/seam seam && chown -R seam /srv/seam
USER seam

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
# Serve only: migrate once per release with `seam db upgrade` from this image, not in every replica
# (README, "Development": the one-off `docker run ... seam seam db upgrade`).
# Set SEAM_SECRET_KEY (and SEAM_DATABASE_URL): on PostgreSQL no process starts without a real key.
# Run `seam worker` / `seam scheduler` from the same image for background work.
CMD ["seam", "serve", "--host", "0.0.0.0", "--port", "8000"]
