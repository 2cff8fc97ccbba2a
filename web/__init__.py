"""The one web app of `carebot run`: Starlette under uvicorn, in the bot's event loop.

``create_app(services, application)`` (web.app) builds it; ``start_web`` (web.server)
serves it on WEB_LISTEN:WEB_PORT as a task on the running loop, the way
python-telegram-bot's custom-webhook example runs Starlette beside the Application.
Routes are grouped by area, one module each under ``web.routes``, and read the services
from the app state; pages go through the one renderer (care.core.rendering).
"""
