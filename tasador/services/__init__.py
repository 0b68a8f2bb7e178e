"""The production services run locally without Docker, and the checks a pipeline makes before using them."""

from tasador.services.lifecycle import start_services, status, stop_services

__all__ = ["start_services", "status", "stop_services"]
