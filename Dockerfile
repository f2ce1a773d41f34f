# Lexbase: one image for every process of the distributed mode. The entrypoint is the
# `lexbase` command, so the container's command picks the process:
#   serve (the default)   the API, on port 8000
#   worker                a job worker (Celery over Redis); metrics on port 9808
#   migrate               apply the database migrations, then exit
#
# The base image is pinned by its full version tag. Pinning by digest as well
# (python:3.11.14-slim-bookworm@sha256:...) is stronger; add the digest when building from a
# registry that can be asked for it (`docker buildx imagetools inspect <tag>`).

# --- builder: a virtualenv with the CPU build of torch, Lexbase, and the prepared models ---
FROM python:3.11.14-slim-bookworm AS builder

# The CPU build of torch; the default PyPI build brings gigabytes of CUDA libraries.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH \
    LEXBASE_MODEL_DIR=/opt/lexbase/models \
    # llama.cpp is compiled at install; without this it is tuned to the build machine's CPU
    # and may die on another (a native build on an AMX CPU crashes outright). As the Makefile.
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"

# Package versions come with the pinned base image's Debian release; pinning each one too
# breaks the build whenever Debian's security archive replaces that exact version.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv

WORKDIR /build
COPY pyproject.toml README.md ./
COPY src ./src
# Every dependency is pinned in pyproject.toml; torch resolves to its +cpu build. The
# distilled embedder is then made once here, so no container spends a minute on it at start;
# it is written to a private (0700) directory, which the runtime's user must be able to read.
RUN pip install --no-cache-dir --extra-index-url "$TORCH_INDEX_URL" . \
    && lexbase prepare-models \
    && chmod -R a+rX /opt/lexbase/models

# --- runtime -----------------------------------------------------------------------------
FROM python:3.11.14-slim-bookworm AS runtime

# tesseract-ocr (with its eng and osd language data) reads scanned pages; antiword reads
# legacy .doc files; libgomp1 and libstdc++6 are what the compiled llama.cpp links against.
# Versions come with the pinned base image's Debian release (see the builder stage).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends tesseract-ocr antiword libgomp1 libstdc++6 \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 lexbase \
    && useradd --system --uid 10001 --gid lexbase --home-dir /home/lexbase --create-home \
        --shell /usr/sbin/nologin lexbase \
    && mkdir -p /var/lib/lexbase \
    && chown lexbase:lexbase /var/lib/lexbase

COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /opt/lexbase/models /opt/lexbase/models

# The models live outside the data directory, so a volume mounted there does not hide them.
# Bytecode was compiled at install; the root filesystem may be read-only at run time.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    XDG_CACHE_HOME=/tmp/.cache \
    LEXBASE_HOST=0.0.0.0 \
    LEXBASE_PORT=8000 \
    LEXBASE_DATA_DIR=/var/lib/lexbase \
    LEXBASE_MODEL_DIR=/opt/lexbase/models \
    LEXBASE_WORKER_METRICS_HOST=0.0.0.0 \
    LEXBASE_WORKER_METRICS_PORT=9808

# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
WORKDIR /home/lexbase
EXPOSE 8000 9808

# For `serve`. Workers and the migration override or disable it (deploy/compose.yaml).
# Python rather than curl, which the slim image does not have.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('LEXBASE_PORT', '8000') + '/health/live', timeout=4)"]

ENTRYPOINT ["lexbase"]
CMD ["serve"]
