# CPU-only image serving the QA API on the default corpus; no model is fetched at run time.
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1
# The CPU wheel of torch; a plain `pip install torch` would pull the multi-GB CUDA build.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
WORKDIR /app

RUN pip install --index-url "$TORCH_INDEX_URL" torch==2.13.0
COPY pyproject.toml README.md ./
COPY qa qa
COPY retriever retriever
COPY reader reader
COPY corpus corpus
COPY api api
RUN pip install . && qa index

EXPOSE 8000
CMD ["qa", "serve", "--host", "0.0.0.0", "--port", "8000"]
