"""Calendar files: the schema, the typed model, the loader and the rules."""
