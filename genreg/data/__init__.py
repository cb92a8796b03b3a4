"""Built-in data sets and loaders for users' files (registered by genreg.builtins.datasets)."""
