# syntax=docker/dockerfile:1
# Switchboard's image: `docker build -t switchboard .`
#
# Two stages. The builder installs the pinned, hash-checked dependencies (requirements.lock) into a
# venv and adds Switchboard itself as a wheel; the runtime stage copies only that venv onto a clean
# slim Python, and runs as an unprivileged user. The same image runs every role: the default command
# serves HTTP (with the in-process delivery worker); docker-compose.yml runs `worker`,
# `serve --no-worker` and `db upgrade` from it too.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/switchboard
ENV PATH=/opt/switchboard/bin:$PATH
WORKDIR /src
# Dependencies first, in their own layer: it is rebuilt only when the lock changes. Every file is
# checked against its hash, and --no-deps means nothing unpinned can slip in.
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml setup.py README.md ./
COPY app ./app
COPY connectors ./connectors
COPY migrations ./migrations
# The wheel bundles connectors/ and migrations/ (setup.py); `pip check` proves the lock covers
# everything pyproject.toml asks for.
RUN pip wheel --no-deps --wheel-dir /wheels . \
    && pip install --no-deps /wheels/*.whl \
    && pip check


FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/switchboard/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN groupadd --system --gid 10001 switchboard \
    && useradd --system --uid 10001 --gid switchboard --home-dir /data --shell /usr/sbin/nologin switchboard \
    && install -d -o switchboard -g switchboard /data
COPY --from=builder /opt/switchboard /opt/switchboard
# The working directory is where the default SQLite database (./switchboard.db) and a .env file
# would be: mount a volume here when running on SQLite.
WORKDIR /data
USER switchboard:switchboard
EXPOSE 8000
# curl is not in slim images: the probe is Python's own. /healthz answers while the process runs.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
# SIGTERM stops gracefully: requests in flight finish, the worker releases what it holds, exit 0
# within 10 s (Docker's default stop timeout).
STOPSIGNAL SIGTERM
CMD ["switchboard", "serve", "--host", "0.0.0.0", "--port", "8000"]
