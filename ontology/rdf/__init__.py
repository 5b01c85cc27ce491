"""The RDF projection of the registry: an Oxigraph store, the audience graphs and their sync."""
