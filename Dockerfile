# Code location image for brainstar: the gRPC server the Helm chart runs
# (dagster api grpc -m platform_assets.definitions), and the image of every run and step pod.
#
#   docker build -t registry.example.org/brainstar/code-location:$(git rev-parse --short HEAD) .
#
# GPU variant: the same image with a CUDA build of torch and the gpu extra (numba-cuda, for the
# cortex engine 'cuda'); the pod gets the driver from the NVIDIA device plugin, the wheels carry
# the CUDA runtime. PyPI's torch 2.13.0 is the CUDA 13 build, which the gpu extra matches:
#
#   docker build --build-arg TORCH_INDEX_URL=https://pypi.org/simple --build-arg EXTRAS='[gpu]' \
#     -t registry.example.org/brainstar/code-location:$(git rev-parse --short HEAD)-cuda .
#
# Point the Helm values' image tag at the -cuda tag when GPU nodes run the steps.

FROM python:3.11-slim

# CPU wheel by default: a CUDA torch is ~2 GB more and useless on CPU nodes.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# Extras of the package itself: '[gpu]' for the GPU variant.
ARG EXTRAS=""

# NUMBA_CACHE_DIR: numba caches compiled kernels beside the sources, read-only for the app user.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DAGSTER_HOME=/opt/dagster/dagster_home \
    BRAINSTAR_LANDING_DIR=/data/landing \
    BRAINSTAR_WAREHOUSE_DIR=/data/warehouse \
    BRAINSTAR_DEVICE=auto \
    BRAINSTAR_ENVIRONMENTS_FILE=/opt/brainstar/deploy/environments.yaml \
    BRAINSTAR_PIPELINES_DIR=/opt/brainstar/pipelines \
    BRAINSTAR_MODULE_CATALOGUE=/opt/brainstar/catalogue/brain_modules.yaml \
    NUMBA_CACHE_DIR=/tmp/numba-cache

WORKDIR /opt/brainstar

# torch first, pinned by constraints.txt and from the chosen index, so that no later
# requirement can pull a different build. Its own layer: it changes far less than our code.
COPY constraints.txt ./
RUN pip install --index-url "${TORCH_INDEX_URL}" --extra-index-url https://pypi.org/simple \
        -c constraints.txt torch==2.13.0

# Dependencies next (cached unless pyproject.toml changes), then the package itself.
COPY pyproject.toml README.md ./
COPY brainstar ./brainstar
COPY platform_assets ./platform_assets
COPY resources ./resources
COPY sensors ./sensors
COPY workspace.yaml ./
# Deployment profiles, instance templates (deploy/production/dagster.yaml for a DAGSTER_HOME
# without the chart's) and applied step requests, the spec pipelines and the module catalogue:
# read at run time from the paths the variables above name. The top-level dagster.yaml is the
# local instance of a checkout and stays out of the image.
COPY deploy ./deploy
COPY pipelines ./pipelines
COPY catalogue ./catalogue
# warm-kernels compiles the numba kernels into NUMBA_CACHE_DIR, so no run or step pod pays the
# compile time (a node whose CPU differs from the build machine's recompiles, as without it).
RUN pip install -c constraints.txt ".${EXTRAS}" \
    && pip check \
    && python -c "import platform_assets.definitions" \
    && brainstar warm-kernels

# The app user must own the numba cache: numba only uses a cache directory it can write to.
RUN useradd --create-home --uid 10001 brainstar \
    && mkdir -p "${DAGSTER_HOME}" /data/landing /data/warehouse \
    && chown -R brainstar "${DAGSTER_HOME}" /data "${NUMBA_CACHE_DIR}"
USER 10001

EXPOSE 3030
# The chart passes its own args (dagster api grpc -h 0.0.0.0 -p PORT -m ...); this default
# lets `docker run` serve the code location the same way.
CMD ["dagster", "api", "grpc", "-h", "0.0.0.0", "-p", "3030", "-m", "platform_assets.definitions"]
