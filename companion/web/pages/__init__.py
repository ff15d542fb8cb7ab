"""The local stats pages (server-rendered, Jinja2): routes, their data access and rendering.

``routes`` stays thin; ``data.PageData`` is the one place the pages read from (the read API's
``StatsReader`` for the match data, so pages and API agree); ``pitch`` turns game coordinates
into the pitch drawings and the match timeline; ``render`` owns the templates, the navigation
and the HTML error pages.
"""
