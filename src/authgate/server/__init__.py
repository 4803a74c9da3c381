"""The authgate server: ASGI front with fast paths, FastAPI admin API behind it."""

from authgate.server.app import AuthgateServer

__all__ = ["AuthgateServer"]
