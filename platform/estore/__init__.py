"""E-Storefront: seven services and the kit they share."""
