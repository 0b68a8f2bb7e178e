"""The production services run locally without Docker, and the checks a pipeline makes before using them."""

from tasador.services.config import ServicesConfig, load_services_config
from tasador.services.lifecycle import start_services, status, stop_services

__all__ = ["ServicesConfig", "load_services_config", "start_services", "status", "stop_services"]
