"""Settings for the test suite: production settings with a throwaway secret key.

DEBUG stays off, so tests see what production does; the settings test checks that a
missing key fails loudly in a separate process.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-for-production-" + "x" * 20)

from ror_crm.settings import *  # noqa: E402, F403

# Hashing passwords slowly protects nothing in tests.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Manifest storage needs collectstatic; tests render templates without it.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
# The test client and live_server speak plain http; production redirects it to https.
SECURE_SSL_REDIRECT = False
WHITENOISE_AUTOREFRESH = True  # no collectstatic in tests
# Tests want a failing eager task to fail the test (the product only logs it).
CELERY_TASK_EAGER_PROPAGATES = True
# Requests read their API key from the database, so that a test counts the same queries with Redis and
# without; tests/partners/test_verified_keys.py turns the keeping of verified keys on.
API_KEY_CACHE_SECONDS = 0
