"""Category service: the category tree, cached in Redis, as a subgraph and a small REST API."""
