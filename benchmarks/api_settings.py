"""Settings of the server benchmarks/api.py starts: the product's, with a URLconf that adds the
benchmark's two constant views (benchmarks/api_urls.py). Not used by the product."""

from ror_crm.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.api_urls"
