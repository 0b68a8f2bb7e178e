"""Serving: what the BentoML service in bento/service.py is made of, importable without BentoML."""
