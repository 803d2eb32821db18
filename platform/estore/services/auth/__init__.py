"""Auth service: accounts, sessions, tokens and the JWKS the rest of the system trusts."""
