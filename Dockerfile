# One image per service, from one file: `docker build --target points -t loyalty-points .`
# (targets: points, tiers, notifications, feedback, console). Each image holds only that service's
# virtual environment, installed from uv.lock exactly as `make run` does, and starts the same
# console script (`loyalty-points`, ...). Kubernetes probes /healthz and /readyz: no HEALTHCHECK.

# Bases by tag, so that this builds anywhere; a release build pins each by digest, which names
# one image where a tag can be pushed again: `--build-arg PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:…`
# (`docker buildx imagetools inspect <image:tag>` or `crane digest <image:tag>` gives it; no
# registry is reachable where this repository is checked, so none is committed here:
# docs/operations.md, "Images pinned by digest").
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${UV_IMAGE} AS uv

# ---- build: resolve from the lock file, no dev dependencies, no source left editable ----------
FROM ${PYTHON_IMAGE} AS build
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# Every workspace member's pyproject.toml (uv needs the whole workspace to read the lock).
COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/
COPY services/points/pyproject.toml services/points/
COPY services/tiers/pyproject.toml services/tiers/
COPY services/notifications/pyproject.toml services/notifications/
COPY services/feedback/pyproject.toml services/feedback/
COPY services/console/pyproject.toml services/console/
COPY tools/devkit/pyproject.toml tools/devkit/
COPY shared/src shared/src
COPY services/points/src services/points/src
COPY services/tiers/src services/tiers/src
COPY services/notifications/src services/notifications/src
COPY services/feedback/src services/feedback/src
COPY services/console/src services/console/src

FROM build AS build-points
RUN uv sync --frozen --no-dev --no-editable --package loyalty-points

FROM build AS build-tiers
RUN uv sync --frozen --no-dev --no-editable --package loyalty-tiers

FROM build AS build-notifications
RUN uv sync --frozen --no-dev --no-editable --package loyalty-notifications

FROM build AS build-feedback
RUN uv sync --frozen --no-dev --no-editable --package loyalty-feedback

FROM build AS build-console
RUN uv sync --frozen --no-dev --no-editable --package loyalty-console

# ---- runtime: the slim base, a numeric non-root user, nothing written outside /tmp ------------
FROM ${PYTHON_IMAGE} AS runtime
# No installer in the final image: the virtual environment is complete.
RUN python -m pip uninstall --yes --quiet pip setuptools wheel \
    && groupadd --system --gid 10001 loyalty \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /tmp \
       --shell /usr/sbin/nologin loyalty
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TMPDIR=/tmp \
    LOYALTY_HOST=0.0.0.0
WORKDIR /app
USER 10001:10001

FROM runtime AS points
COPY --from=build-points --chown=0:0 /app/.venv /app/.venv
EXPOSE 8001
ENTRYPOINT ["/app/.venv/bin/loyalty-points"]

FROM runtime AS tiers
COPY --from=build-tiers --chown=0:0 /app/.venv /app/.venv
EXPOSE 8002
ENTRYPOINT ["/app/.venv/bin/loyalty-tiers"]

FROM runtime AS notifications
COPY --from=build-notifications --chown=0:0 /app/.venv /app/.venv
EXPOSE 8003
ENTRYPOINT ["/app/.venv/bin/loyalty-notifications"]

FROM runtime AS feedback
COPY --from=build-feedback --chown=0:0 /app/.venv /app/.venv
EXPOSE 8004
ENTRYPOINT ["/app/.venv/bin/loyalty-feedback"]

FROM runtime AS console
COPY --from=build-console --chown=0:0 /app/.venv /app/.venv
EXPOSE 8080
ENTRYPOINT ["/app/.venv/bin/loyalty-console"]
