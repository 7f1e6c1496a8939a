"""Bailian Quanmiao video analysis: poll only; the polled `GetVideoAnalysisTask` response is the payload."""

from schemas.bailian import v1
from schemas.provider import ProviderSchemas, SchemaVersion

PROVIDER = ProviderSchemas(
    name=v1.PROVIDER_ID,
    # No callbacks: results are polled with AccessKey-signed requests, so no callback is verified.
    default_verify="none",
    accepts_callbacks=False,
    versions=(),
    resource_versions=(SchemaVersion(1, v1.TaskResponse, v1.normalize),),
    task_type="analysis",
)
