"""Payment tests run on a cluster of auth and payment only."""

from tests.conftest import cluster_of

cluster = cluster_of("auth", "payment")
