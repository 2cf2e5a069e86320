# socialbridge: docker build -t socialbridge . && docker run --env-file .env \
#   -v $PWD/config:/app/config:ro -v socialbridge-data:/app/data -p 3000:3000 socialbridge
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install . && useradd --create-home --uid 10001 socialbridge \
    && mkdir -p /app/data && chown socialbridge /app/data
COPY config ./config

USER socialbridge
VOLUME ["/app/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4).status == 200 else 1)"
CMD ["socialbridge", "run"]
