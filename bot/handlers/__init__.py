"""One module per conversation area; each exposes ``handlers()`` for bot/app.py."""
