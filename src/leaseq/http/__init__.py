"""The thin HTTP edge: parse and validate, call one service method, serialise."""

from leaseq.http.app import create_app

__all__ = ["create_app"]
