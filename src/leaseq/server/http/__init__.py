"""The thin HTTP edge: parse and validate, call one service method, serialise."""
