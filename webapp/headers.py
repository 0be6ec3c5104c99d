"""Response headers every page carries: no framing, no type sniffing, no path in referrers."""

from __future__ import annotations

from flask import Flask, Response

HEADERS = {
    # A decision page inside another site's frame could be clicked by trickery (clickjacking).
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    # Map tiles come from another host: it learns the site (OpenStreetMap's tile policy wants a
    # Referer), never the page with its ids and searches.
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def add_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)  # a route's own (stricter) value stays
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_headers)
