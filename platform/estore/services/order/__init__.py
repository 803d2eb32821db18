"""Order service: orders, the checkout saga that creates them, and cancellation."""
