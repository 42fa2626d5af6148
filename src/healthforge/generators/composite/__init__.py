"""Generators built from other generators: ensemble (a mixture) and fair (rebalanced groups)."""
