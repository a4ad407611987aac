"""Campaign downloads: the CSV export of a campaign's tasks."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, Response, get

from web import services
from web.auth import current_user, db_pool, signed_in


class CampaignPages(Controller):
    guards = [signed_in]
    include_in_schema = False

    @get("/campaigns/{campaign_id:uuid}/export.csv")
    async def export_csv(self, request: Request, campaign_id: UUID) -> Response[str]:
        filename, text = await services.campaign_csv(db_pool(request), current_user(request).id, campaign_id)
        return Response(text, media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})
