"""The local stats pages (server-rendered, Jinja2): routes, their data access and rendering.

``routes`` stays thin; ``data.PageData`` is the one place the pages read from (phase 2 plugs the
read API in there); ``render`` owns the templates, the navigation and the HTML error pages.
"""
