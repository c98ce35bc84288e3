"""Adapters between helpdesk APIs and the common model: one package per helpdesk."""
