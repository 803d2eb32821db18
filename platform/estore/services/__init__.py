"""One package per service, each the same shape."""
