"""The numbered migrations, one module per part of the product."""
