"""The daily sweep that keeps ad-platform audiences' members from expiring there."""

from chalice import Blueprint, Rate

from ..services.ad_audiences import worker

bp = Blueprint(__name__)


@bp.schedule(Rate(24, unit=Rate.HOURS))
def refresh_ad_audiences(event):
    return {"queued": worker.queue_refreshes()}
