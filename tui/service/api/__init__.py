"""The HTTP API of the service: one route table (``routes.py``) from which both the
Starlette routes and the OpenAPI document are built, and the handlers by area."""
