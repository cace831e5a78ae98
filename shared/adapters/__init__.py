"""Translations of the protocols pipelines already speak (ping URLs, OpenLineage, OTLP) into
native events, which then take the one ingest path (shared/ingest/accept.py)."""
