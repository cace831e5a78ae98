"""Stream workers: drain the ingest streams and apply each batch exactly once."""
