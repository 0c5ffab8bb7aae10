"""mafita-analytics change capture, as a Django app so the platform's own migrations own it."""

from django.apps import AppConfig


class AnalyticsCaptureConfig(AppConfig):
    name = "analytics_capture"
    verbose_name = "mafita-analytics change capture"
