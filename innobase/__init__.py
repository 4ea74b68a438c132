"""Tools on top of the services: the `innobase` command, `make run`'s supervisor, the demo,
the generated docs and the audit timeline. Nothing in services/ or shared/ imports it."""
