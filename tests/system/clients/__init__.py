"""Scripts that drive LSO with real third-party clients, run as their own processes so that
those clients are configured exactly as their users configure them (environment variables)."""
