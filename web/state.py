"""What a route reaches through the app state: the services and the bot's Application.

``create_app`` puts them there once; routes never reach for a global.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from telegram.ext import Application

from care.services import Services


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def application_of(request: Request) -> Application[Any, Any, Any, Any, Any, Any]:
    application: Application[Any, Any, Any, Any, Any, Any] = request.app.state.application
    return application
