"""Product service: the catalog, reviews, stock and the reservations the checkout holds."""
