"""What the tests import as a library: builders, store readers, servers and processes. Fixtures
stay in the conftest.py files, which build them from these modules."""
