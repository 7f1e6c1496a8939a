"""Gemini API: thin static webhooks (Standard Webhooks), then the Veo operation or the Omni interaction.

The webhook names the task; what is published is the object fetched after it (or polled): a Veo
`predictLongRunning` operation or an Omni interaction, told apart by their shapes (an operation has
`name`, an interaction `status`), hence two resource versions.
"""

from schemas.gemini import interaction, operation, webhook
from schemas.provider import ProviderSchemas, SchemaVersion

SCHEMAS = ProviderSchemas(
    name="gemini",
    versions=(SchemaVersion(1, webhook.Webhook, webhook.normalize),),
    resource_versions=(
        SchemaVersion(2, interaction.Interaction, interaction.normalize),
        SchemaVersion(1, operation.Operation, operation.normalize),
    ),
    task_types=("generation",),
)
