"""Look up a business's phone number and opening hours (Google Places API (New), Text Search)."""

from __future__ import annotations

from typing import Any

import httpx

FIELDS = ",".join([
    "places.displayName", "places.formattedAddress", "places.internationalPhoneNumber",
    "places.regularOpeningHours.weekdayDescriptions", "places.utcOffsetMinutes", "places.businessStatus",
])


class GooglePlacesLookup:
    name = "lookup_business"
    description = (
        "Find a business by name and place (e.g. 'Smile Dental, Oakland CA') and return its international "
        "phone number, address and opening hours."
    )
    parameters: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["query"],
        "properties": {"query": {"type": "string", "description": "business name and town"}},
    }

    def __init__(self, api_key: str, base_url: str = "https://places.googleapis.com", timeout_s: float = 10.0) -> None:
        self._api_key = api_key
        self._url = base_url.rstrip("/") + "/v1/places:searchText"
        self._timeout = httpx.Timeout(timeout_s)

    async def run(self, arguments: dict[str, Any]) -> dict[str, Any]:
        query = str(arguments.get("query", "")).strip()[:200]
        if not query:
            return {"error": "query is empty"}
        headers = {"X-Goog-Api-Key": self._api_key, "X-Goog-FieldMask": FIELDS}
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.post(self._url, json={"textQuery": query, "pageSize": 3}, headers=headers)
            body = response.json()
        except httpx.HTTPError as exc:
            return {"error": f"place lookup failed: {type(exc).__name__}"}
        except ValueError:
            return {"error": f"place lookup failed: HTTP {response.status_code} without JSON"}
        if response.status_code != 200:
            message = (body or {}).get("error", {}).get("message", f"HTTP {response.status_code}")
            return {"error": f"place lookup failed: {message}"}
        return {"places": [_summary(p) for p in body.get("places", [])]}


def _summary(place: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": place.get("displayName", {}).get("text", ""),
        "address": place.get("formattedAddress", ""),
        "phone_number": place.get("internationalPhoneNumber", ""),
        "opening_hours": place.get("regularOpeningHours", {}).get("weekdayDescriptions", []),
        "utc_offset_minutes": place.get("utcOffsetMinutes"),
        "status": place.get("businessStatus", ""),
    }
