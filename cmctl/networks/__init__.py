"""Network declarations (one file per network) and the registry that finds them."""
