"""The contract every generator follows and what all of them share: the ``Generator`` base,
the registry, persistence, conditions, exact column rules, marginals and torch support."""
