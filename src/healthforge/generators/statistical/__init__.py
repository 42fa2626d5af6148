"""Statistical generators: independent marginals, Gaussian copula, Bayesian network and
the latent copula for tables with more columns than rows."""
