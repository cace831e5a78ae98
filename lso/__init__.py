"""The `lso` command: run the service or its parts."""
