"""SHACL shapes of a complete passport per battery category (generated: see ``generate.py``)."""
