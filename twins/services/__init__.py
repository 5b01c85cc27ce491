"""The twins app's interface: ``health.assess`` runs the health twin on one battery."""
