"""The GraphQL Federation gateway: compose, plan, execute, subscribe."""
