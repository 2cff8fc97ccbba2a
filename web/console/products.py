"""/console/products: the catalogue with search and filters (category, on sale, featured)
and the product report (units, revenue and margin by product and month; the top products
of each tier; unmet demand by product). Agents read it; managers put a product on or off
sale and feature it (each change in the audit log)."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from care.core.text import fold
from care.customers import ConsoleUser
from web.console.base import MANAGER, not_found, render, staff_page
from web.console.forms import Form
from web.state import services_of

FLAGS = ("active", "featured")
YES_NO = ("yes", "no")
MONTH_ROWS = 200
MAX_CODE = 100


def _filters(request: Request) -> Form:
    params = request.query_params
    return Form(
        {
            "q": params.get("q", "")[:200],
            "category": params.get("category", "")[:100],
            "active": params.get("active", "") if params.get("active") in YES_NO else "",
            "featured": params.get("featured", "") if params.get("featured") in YES_NO else "",
        }
    )


@staff_page()
async def product_list(request: Request, user: ConsoleUser) -> Response:
    return await _page(request, user)


async def _page(
    request: Request, user: ConsoleUser, *, problem: str | None = None, status: int = 200
) -> Response:
    services = services_of(request)
    filters = _filters(request)
    categories = await services.products.categories()
    category = filters.get("category") or None
    products = await services.products.views(category=category if category in categories else None)
    words = fold(filters.get("q")).split()
    if words:
        products = [p for p in products if all(w in fold(f"{p.code} {p.name}") for w in words)]
    for flag in FLAGS:
        wanted = filters.get(flag)
        if wanted:
            products = [p for p in products if getattr(p, flag) == (wanted == "yes")]
    months = await services.product_reports.by_month()
    return render(
        request,
        "products",
        user=user,
        filters=filters,
        categories=categories,
        products=products,
        months=months[:MONTH_ROWS],
        more_months=max(len(months) - MONTH_ROWS, 0),
        tiers=await services.product_reports.top_by_tier(),
        unmet=await services.product_reports.unmet_demand(),
        done=request.query_params.get("done"),
        problem=problem,
        status=status,
    )


@staff_page(MANAGER)
async def set_flags(request: Request, user: ConsoleUser) -> Response:
    """Put a product on or off sale, feature it or not (one button, one flag)."""
    code = request.path_params["code"]
    services = services_of(request)
    if len(code) > MAX_CODE or await services.products.view(code) is None:
        return not_found(request, user)
    form = Form.of(await request.form())
    changes = {flag: form.get(flag) == "1" for flag in FLAGS if form.get(flag) in ("0", "1")}
    if not changes:
        return await _page(request, user, problem="console.products.no_change", status=400)
    before = await services.products.view(code)
    after = await services.products.set_flags(code, **changes)
    if after is None:
        return not_found(request, user)
    if after != before:
        await services.console.record(user, "product.flags", f"product:{code}", changes)
    return RedirectResponse(
        f"/console/products?done=saved#p-{quote(code, safe='')}", status_code=303
    )
