"""Use cases: what a route or event handler calls. They combine the pure core with storage."""
