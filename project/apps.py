from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """The project as an app: it owns ``manage.py runstack``."""

    name = "project"
    verbose_name = "Project"
