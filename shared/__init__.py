"""Code used by both the API and the workers."""
