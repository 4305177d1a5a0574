# One image, run in every role: api, relay, dispatcher, projector, webhooks.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

RUN useradd --create-home --uid 10001 smsledger
WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain ./domain
COPY application ./application
COPY adapters ./adapters
COPY projections ./projections
RUN pip install .

USER smsledger
EXPOSE 8000
ENTRYPOINT ["smsledger"]
CMD ["api"]
