"""Plain Django views of the semantic layer."""
