"""Differentially private generators (aim, mst, dp_copula, dpctgan, dptvae) and the one
private-fit path they, and ``lm`` with ``epsilon``, start from."""
