"""warroom."""
