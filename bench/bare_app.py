"""Target (b): a bare FastAPI endpoint that only parses the JSON body and answers 202.

The floor companion's ingest route is measured against: no validation, no storage. Served with
companion's uvicorn settings on a socket bound like companion's (see ``_serve.py``).
Run by ``bench/ingest.py`` as ``python bench/bare_app.py``; prints ``PORT <n>``.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

_ACCEPTED = b'{"accepted":1}'


@app.post("/api/v1/events")
async def ingest(request: Request) -> Response:
    await request.json()
    return Response(_ACCEPTED, status_code=202, media_type="application/json")


if __name__ == "__main__":
    from _serve import serve

    serve(app)
