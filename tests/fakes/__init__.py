"""Fakes at the boundary: local servers that speak the protocols of outside services."""
