"""The HTTP edge: one JSON API under /api/v1/ (and the portal's pages) over the services' RPCs."""
