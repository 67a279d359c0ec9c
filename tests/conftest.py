import os

# Tests run with DEBUG off (as production) but need a key; the settings test checks the failure.
os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-for-production")
