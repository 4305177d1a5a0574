# One image, run in every role: api, relay, dispatcher, projector, webhooks.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    SMSLEDGER_DATA_DIR=/var/lib/smsledger

# /app stays root's (the code is read-only to the service); what the service
# writes (a JWT key generated when none is configured, `up`'s data) goes to
# the data dir, which its user owns.
RUN useradd --create-home --uid 10001 smsledger \
    && install -d -o smsledger -g smsledger -m 0700 /var/lib/smsledger
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
