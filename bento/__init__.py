"""The BentoML service of tasador (service.py) and its bentofile."""
