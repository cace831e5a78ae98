"""OTLP/HTTP: `POST /v1/traces` and `POST /v1/logs` (shared/adapters/otlp.py)."""

from fastapi import APIRouter

router = APIRouter(tags=["otlp"])
