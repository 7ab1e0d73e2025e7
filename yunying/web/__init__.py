"""The HTTP server: capture endpoints of every wire format, and the JSON API."""

from yunying.web.app import create_app

__all__ = ["create_app"]
