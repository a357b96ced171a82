"""Who may read, write and review a county's plans.

- the county's planners create, edit and submit their county's plans (the municipal centre
  never authors a plan);
- the municipal centre reads every plan of its city, approves or returns submitted ones
  (never one whose ``created_by`` is itself: checked where the decision is written);
- both read a county's plans, checks, progress and spreadsheets.
"""

from __future__ import annotations

from registry.core.access import Actor, can_read_county, require_role, within_scope
from registry.core.errors import Forbidden


def require_author(actor: Actor, county_code: str) -> None:
    """Only the county's own planners write its plans."""
    if actor.is_municipal:
        raise Forbidden(
            "wrong_role",
            "建设规划由县(市、区)规划员编制，市政务服务中心负责审查",
            "plans are written by the county's planners; the municipal centre reviews them",
        )
    require_role(actor, "county_planner")
    if actor.scope != county_code:
        raise Forbidden(
            "out_of_scope",
            "只能编制本县(市、区)的建设规划",
            f"{actor.username} may not write plans of county {county_code}",
        )


def require_reader(actor: Actor, county_code: str) -> None:
    """Planners read their county's plans, the municipal centre its city's."""
    require_role(actor, "municipal", "county_planner")
    if not can_read_county(actor, county_code):
        raise Forbidden(
            "out_of_scope",
            "无权查看其他县(市、区)的建设规划",
            f"{actor.username} may not read plans of county {county_code}",
        )


def require_reviewer(actor: Actor, county_code: str) -> None:
    """Only the municipal centre reviews, and only its city's plans."""
    require_role(actor, "municipal")
    if not within_scope(actor, county_code):
        raise Forbidden(
            "out_of_scope",
            "无权审查其他市的建设规划",
            f"{actor.username} may not review plans of county {county_code}",
        )
