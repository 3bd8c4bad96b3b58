"""The web console: server-rendered pages (Jinja2 + htmx) over the same service functions as the API."""
