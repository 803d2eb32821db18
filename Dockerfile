# One image for every service: `estore serve NAME` picks which one a container runs.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# The dependencies change less often than the code: their layer is cached across code edits.
COPY pyproject.toml ./
RUN mkdir -p platform/estore && touch platform/estore/__init__.py \
    && pip install . && pip uninstall -y estore
COPY platform ./platform
RUN pip install --no-deps .

RUN useradd --create-home --uid 10001 estore
USER estore

ENTRYPOINT ["estore"]
CMD ["serve", "--help"]
