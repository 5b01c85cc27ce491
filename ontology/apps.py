from django.apps import AppConfig


class OntologyConfig(AppConfig):
    name = "ontology"

    def ready(self) -> None:
        from ontology import signals

        signals.connect()
