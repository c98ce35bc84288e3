"""The sidecar application: config, CLI, state store, scheduler and HTTP surface."""

__version__ = "0.1.0"
