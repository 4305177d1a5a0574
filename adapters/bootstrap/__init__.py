"""The composition root: the one place that builds infrastructure and wires it
into the application, one module per process role."""
