"""Provenance core: canonical record hashing, the RFC 9162 Merkle log, signed tree heads and anchors.

Pure Python with no Django imports, so that a proof bundle can be checked offline by anyone with
``python -m lifecycle.provenance.verifier bundle.json``; the Django storage layer builds on top.
"""
