"""Tree generators (cart, arf): leaves whose training values are drawn and smoothed."""
