# CPU-only image serving the QA API on the default corpus; no model is fetched at run time.
#
# Exposed beyond your machine? Set API keys: without QA_API_KEYS every read is open and writes
# (adding/removing documents) are refused from other hosts; with them, writes need a key:
#   docker run -p 8000:8000 -e QA_API_KEYS=change-me newsqa
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1 \
    QA_INDEX_DIR=/data/index QA_DOCUMENTS_DIR=/data/documents QA_FEEDBACK_FILE=/data/feedback.jsonl
WORKDIR /app

# LightGBM (the answer selector) loads the system's OpenMP runtime, which the slim image lacks.
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY qa qa
COPY retriever retriever
COPY reader reader
COPY corpus corpus
COPY api api
COPY chat chat
COPY slackbot slackbot
COPY evaluation evaluation
COPY service service
COPY cli cli
COPY training training
# Serving only: ONNX Runtime, no PyTorch (the 'torch' extra is for the PyTorch reader and training).
# Runs as an unprivileged user; the index, uploaded documents and feedback live in /data (a volume).
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /data --create-home newsqa \
    && su newsqa -s /bin/sh -c "qa index"
USER newsqa
VOLUME ["/data"]

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4).status == 200 else 1)"
# 0.0.0.0 inside the container: reachable only through the published port (see the keys note above).
CMD ["qa", "serve", "--host", "0.0.0.0", "--port", "8000"]
