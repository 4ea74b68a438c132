"""The JSON API under /api/v1/: the route table, its dispatcher, the OpenAPI document."""
