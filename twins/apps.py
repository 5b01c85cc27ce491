from django.apps import AppConfig


class TwinsConfig(AppConfig):
    name = "twins"
