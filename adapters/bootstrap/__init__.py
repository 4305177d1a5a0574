"""The composition root: the one place that builds infrastructure and wires it
into the application, one module per process role.

- `infrastructure`: what every role builds first: the PostgreSQL and NATS it
  uses (embedded ones under `up`), the schema, the ledger application, the
  configuration pool.
- `container`: every service of a process, built once over that infrastructure,
  with the sections of `identity` (sign-in), `billing` and `campaigns`
  (the contact base and campaigns).
- `api`: the HTTP API process: its app, its tuning, serving it with uvicorn.
- `workers`: the background roles' process: the relay, the projectors, and
  the roles below, run in a thread or in supervised child processes.
- `dispatcher`: the carriers, the dispatcher and the receipt side.
- `webhooks`: the webhook intake and sender.
- `billing`, `campaigns`: their sections of the container, and the auto-topup
  and campaigns roles' loops.
"""
