"""Loopback emulators of the paging services the notifier talks to (tests and demo)."""
