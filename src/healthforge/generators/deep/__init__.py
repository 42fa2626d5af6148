"""Deep generators (ctgan, tvae, ddpm) and the data representation they share."""
