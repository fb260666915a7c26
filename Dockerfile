# nn-playground: the web app with MNIST baked in, served by uvicorn on port 8000.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 nnp
WORKDIR /src

# Dependencies first, so code edits don't reinstall them.
COPY pyproject.toml README.md ./
COPY app ./app
COPY static ./static
COPY templates ./templates
RUN pip install . && rm -rf /src

USER 10001
WORKDIR /home/nnp
ENV XDG_CACHE_HOME=/home/nnp/.cache \
    XDG_DATA_HOME=/home/nnp/.local/share \
    NNP_HOST=0.0.0.0 \
    NNP_PORT=8000

# MNIST goes into the image, so training starts without a download.
RUN nn-playground download

EXPOSE 8000
# One worker: the process owns the training threads and the in-memory run state.
CMD ["nn-playground", "serve", "--host", "0.0.0.0", "--port", "8000"]
