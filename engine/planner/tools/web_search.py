"""Search the web (Brave Search API, web search endpoint) and give the model a few results.

The HTTP client is httpx, as for the Places lookup: `engine/` does not
import aiohttp (docs/architecture.md). Every failure comes back as `{"error": ...}` for the
model to read; nothing is raised into the chat, and the API key is never logged or returned.
"""

from __future__ import annotations

import html
import logging
import re
from typing import Any

import httpx

log = logging.getLogger(__name__)

RESULT_COUNT = 5
MAX_QUERY_CHARS = 400  # Brave's own limit on q
MAX_SNIPPET_CHARS = 300

_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


class WebSearch:
    name = "web_search"
    description = (
        "Search the web (e.g. for a business's website, a phone number or opening hours that the business lookup "
        "did not find) and return up to five results with title, url and a short snippet."
    )
    parameters: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["query"],
        "properties": {"query": {"type": "string", "description": "what to search for"}},
    }

    def __init__(self, api_key: str, base_url: str = "https://api.search.brave.com", timeout_s: float = 10.0) -> None:
        self._api_key = api_key
        self._url = base_url.rstrip("/") + "/res/v1/web/search"
        self._timeout = timeout_s

    async def run(self, arguments: dict[str, Any]) -> dict[str, Any]:
        query = str(arguments.get("query", "")).strip()[:MAX_QUERY_CHARS]
        if not query:
            return {"error": "query is empty"}
        headers = {"X-Subscription-Token": self._api_key, "Accept": "application/json"}
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.get(self._url, params={"q": query, "count": RESULT_COUNT}, headers=headers)
        except httpx.TimeoutException:
            log.warning("web search timed out")
            return {"error": "web search failed: the search service did not answer in time"}
        except httpx.HTTPError as exc:  # connection refused, reset, protocol errors
            log.warning("web search failed: %s", type(exc).__name__)
            return {"error": "web search failed: the search service could not be reached"}
        if response.status_code != 200:
            log.warning("web search failed: HTTP %s", response.status_code)
            return {"error": f"web search failed: HTTP {response.status_code}"}
        try:
            body = response.json()
            results = body.get("web", {}).get("results", []) if isinstance(body, dict) else None
            if not isinstance(results, list):
                raise ValueError("web.results is not a list")
            return {"results": [_summary(r) for r in results[:RESULT_COUNT] if isinstance(r, dict)]}
        except (ValueError, AttributeError):
            log.warning("web search failed: the answer was not the expected JSON")
            return {"error": "web search failed: the search service's answer was not understood"}


def _text(value: Any, limit: int) -> str:
    """HTML (Brave marks matches with <strong>, escapes quotes) to plain text, on one line."""
    if not isinstance(value, str):
        return ""
    text = _SPACE.sub(" ", html.unescape(_TAG.sub("", value))).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _summary(result: dict[str, Any]) -> dict[str, str]:
    return {
        "title": _text(result.get("title"), 200),
        "url": result.get("url", "") if isinstance(result.get("url"), str) else "",
        "snippet": _text(result.get("description"), MAX_SNIPPET_CHARS),
    }
