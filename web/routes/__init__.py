"""The web app's routes, one module per area; each offers ``routes(...)`` for ``create_app``."""
