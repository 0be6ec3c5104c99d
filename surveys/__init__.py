"""The two surveys' definitions, read by every layer: the bottom of the stack."""
