"""The HTTP API: validate and append batches, register systems, answer health reads."""
