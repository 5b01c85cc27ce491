"""Decisions built on twin results: residual value, where a battery goes next, warranty claims.

Pure functions over plain numbers, so each rule is testable on its own and its assumptions travel
with the answer.
"""
