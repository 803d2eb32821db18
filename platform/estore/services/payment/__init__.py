"""Payment processor: the simulated external card processor the checkout saga charges."""
