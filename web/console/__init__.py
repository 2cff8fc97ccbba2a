"""The shop's web console under /console/: one module per area, like the bot's handlers.

Pages are rendered on the server through the one renderer (``templates/web/console/``),
htmx (vendored in web/static/) asks for fragments of the same templates, charts are
matplotlib SVG. Every route calls the same care services the bot uses; sign-in, roles
and CSRF are checked by ``web.console.base.staff_page`` around each endpoint.
"""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from web.console import (
    api_keys,
    campaigns,
    customers,
    dashboard,
    faq,
    imports,
    login,
    products,
    reports,
    staff,
    tickets,
)

STATIC = Path(__file__).resolve().parent.parent / "static"


def routes() -> list[BaseRoute]:
    """The console's routes and its static files (htmx, the style sheet)."""
    return [
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        Route("/console", login.to_console, methods=["GET"]),
        Route("/console/login", login.login_page, methods=["GET"]),
        Route("/console/login", login.login, methods=["POST"]),
        Route("/console/logout", login.logout, methods=["POST"]),
        Route("/console/language/{lang}", login.language, methods=["GET"]),
        Route("/console/", dashboard.dashboard, methods=["GET"]),
        Route("/console/customers", customers.customer_list, methods=["GET"]),
        Route("/console/customers/{code}", customers.customer_card, methods=["GET"]),
        Route("/console/customers/{code}/profile", customers.edit_profile, methods=["POST"]),
        Route("/console/customers/{code}/consent", customers.set_consent, methods=["POST"]),
        Route("/console/customers/{code}/policy", customers.grant_policy, methods=["POST"]),
        Route("/console/customers/{code}/erase", customers.erase, methods=["POST"]),
        Route("/console/customers/{code}/ticket", customers.open_ticket, methods=["POST"]),
        Route("/console/tickets", tickets.ticket_list, methods=["GET"]),
        Route("/console/tickets/{code}", tickets.ticket_page, methods=["GET"]),
        Route("/console/tickets/{code}/{action}", tickets.ticket_action, methods=["POST"]),
        Route("/console/campaigns", campaigns.campaign_list, methods=["GET"]),
        Route("/console/campaigns", campaigns.create, methods=["POST"]),
        Route("/console/campaigns/preview", campaigns.preview, methods=["POST"]),
        Route("/console/campaigns/{name}", campaigns.campaign_page, methods=["GET"]),
        Route("/console/campaigns/{name}/{action}", campaigns.campaign_action, methods=["POST"]),
        Route("/console/faq", faq.faq_page, methods=["GET"]),
        Route("/console/faq/new", faq.new_entry, methods=["GET"]),
        Route("/console/faq/new", faq.create_entry, methods=["POST"]),
        Route("/console/faq/pending/{confirmation}/approve", faq.approve_wording, methods=["POST"]),
        Route("/console/faq/learned/{alternate}/forget", faq.forget_wording, methods=["POST"]),
        Route("/console/faq/{entry}", faq.edit_page, methods=["GET"]),
        Route("/console/faq/{entry}", faq.save_entry, methods=["POST"]),
        Route("/console/faq/{entry}/delete", faq.delete_entry, methods=["POST"]),
        Route("/console/products", products.product_list, methods=["GET"]),
        Route("/console/products/{code}/flags", products.set_flags, methods=["POST"]),
        Route("/console/imports", imports.imports_page, methods=["GET"]),
        Route("/console/imports", imports.upload, methods=["POST"]),
        Route("/console/imports/{upload}/confirm", imports.confirm, methods=["POST"]),
        Route("/console/reports", reports.reports_page, methods=["GET"]),
        Route("/console/reports/management", reports.management_report, methods=["GET"]),
        Route("/console/reports/export/{what}.{format}", reports.export, methods=["GET"]),
        Route("/console/staff", staff.staff_list, methods=["GET"]),
        Route("/console/staff", staff.staff_add, methods=["POST"]),
        Route("/console/staff/{telegram_id}/remove", staff.staff_remove, methods=["POST"]),
        Route("/console/api-keys", api_keys.key_list, methods=["GET"]),
        Route("/console/api-keys", api_keys.create_key, methods=["POST"]),
        Route("/console/api-keys/{name}/revoke", api_keys.revoke_key, methods=["POST"]),
        Route("/console/webhooks", api_keys.subscribe, methods=["POST"]),
        Route("/console/webhooks/{id}/end", api_keys.end_subscription, methods=["POST"]),
        Route("/console/audit", staff.audit, methods=["GET"]),
        # Last: any other /console URL is the console's own 404 page.
        Route("/console/{rest:path}", login.missing, methods=["GET", "POST"]),
    ]
