"""The AI partner (issue #22): a conversation that takes a table to an evaluated
synthetic dataset, every step a registered tool running the library's pipeline."""
