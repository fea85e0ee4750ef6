"""Nengtan: open energy-carbon dual-control warehouse."""
