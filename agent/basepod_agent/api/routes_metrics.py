"""Resource metrics of an app, the dashboard summary of all apps, and alert thresholds."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel

from basepod_agent.api.deps import Caller, caller, require, services
from basepod_agent.protocol.auth import Role
from basepod_agent.protocol.metrics import AlertReport, AlertSettings, AppMetrics, MetricsRange, MetricsSummary
from basepod_agent.services.context import AgentServices

router = APIRouter(prefix="/api")
deployer = require(Role.DEPLOYER)


def _json(model: BaseModel) -> Response:
    """Serialised once: FastAPI would dump and re-validate thousands of numbers per series."""
    return Response(content=model.model_dump_json(), media_type="application/json")


@router.get("/apps/{name}/metrics", response_model=AppMetrics)
async def app_metrics(name: str, range: MetricsRange = Query(MetricsRange.HOUR), _: Caller = Depends(caller),
                      svc: AgentServices = Depends(services)) -> Response:
    return _json(svc.metrics.app_metrics(name, range))


@router.get("/metrics/summary", response_model=MetricsSummary)
async def metrics_summary(range: MetricsRange = Query(MetricsRange.HOUR), points: int = Query(60),
                          _: Caller = Depends(caller), svc: AgentServices = Depends(services)) -> Response:
    return _json(svc.metrics.summary(range, points))


@router.get("/apps/{name}/alerts", response_model=AlertReport)
async def get_alerts(name: str, _: Caller = Depends(caller), svc: AgentServices = Depends(services)) -> AlertReport:
    return svc.metrics.alerts.report(name)


@router.put("/apps/{name}/alerts", response_model=AlertReport)
async def put_alerts(name: str, body: AlertSettings, who: Caller = Depends(deployer),
                     svc: AgentServices = Depends(services)) -> AlertReport:
    return svc.metrics.alerts.configure(who.actor, name, body)
