"""Plumbing every layer uses: settings, domain errors, logs and metrics, cursors."""
