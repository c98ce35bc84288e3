# The escalation sidecar: `escalator run` serving /healthz, /readyz and /metrics on port 8080.
# Config is mounted read-only at /config; secrets come only from the environment.
# BASE is any Debian-like image with python3 (>= 3.11) and its venv module; the default is the
# official slim image, and the tests pass a locally built one where no registry is reachable.
# 3.13 rather than 3.12: 3.12 keeps objects of its own frozen, so the sidecar's collector pause
# cannot spare a big plan the collector's passes there (src/escalator/gcpause.py)
ARG BASE=python:3.13-slim

FROM ${BASE} AS deps
SHELL ["/bin/sh", "-eu", "-c"]
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src

# Dependencies get their own layer, keyed on pyproject.toml alone, so a source edit reuses it.
COPY pyproject.toml README.md ./
RUN python3 -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb")); \
print("\n".join(p["project"]["dependencies"]), file=open("/tmp/runtime.txt", "w")); \
print("\n".join(p["build-system"]["requires"]), file=open("/tmp/build.txt", "w"))' \
 && python3 -m venv /opt/escalator \
 && /opt/escalator/bin/pip install --requirement /tmp/runtime.txt \
 && python3 -m venv /opt/buildenv \
 && /opt/buildenv/bin/pip install --requirement /tmp/build.txt


# The package itself as a wheel built from the repo's source; the build tools stay here.
FROM deps AS wheel
COPY src ./src
RUN /opt/buildenv/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /dist .


FROM ${BASE}
SHELL ["/bin/sh", "-eu", "-c"]
# A fixed numeric uid, so Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
ARG UID=10001
RUN groupadd --system --gid "${UID}" escalator \
 && useradd --system --uid "${UID}" --gid escalator --home-dir /var/lib/escalator \
    --no-create-home --shell /usr/sbin/nologin escalator \
 && install -d -o "${UID}" -g "${UID}" -m 0750 /var/lib/escalator \
 && install -d -m 0755 /config

COPY --from=deps /opt/escalator /opt/escalator
# The wheel is bind-mounted, not copied, so no layer keeps it.
RUN --mount=type=bind,from=wheel,source=/dist,target=/dist \
    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    /opt/escalator/bin/pip install --no-deps /dist/*.whl \
 && /opt/escalator/bin/escalator --help >/dev/null

ENV PATH=/opt/escalator/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ESCALATOR_CONFIG=/config \
    ESCALATOR_STORE=sqlite:////var/lib/escalator/state.db \
    ESCALATOR_LISTEN_HOST=0.0.0.0 \
    ESCALATOR_LISTEN_PORT=8080

LABEL org.opencontainers.image.title="escalation-sidecar" \
      org.opencontainers.image.description="Escalation matrix and SLA clock beside Zendesk, Jira and HubSpot" \
      org.opencontainers.image.licenses="Apache-2.0"

USER ${UID}:${UID}
WORKDIR /var/lib/escalator
EXPOSE 8080

# No curl in a slim image: the interpreter that is there anyway asks /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('ESCALATOR_LISTEN_PORT', '8080') + '/healthz', timeout=4)"]

ENTRYPOINT ["escalator"]
CMD ["run"]
