"""Evaluation of synthetic data: fidelity, utility, privacy and fairness."""
