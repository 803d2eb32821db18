"""Coupon tests run on a cluster of auth and coupon only."""

from tests.conftest import cluster_of

cluster = cluster_of("auth", "coupon")
