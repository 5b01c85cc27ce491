from django.contrib import admin

from lifecycle.models import Anchor, CycleAggregate, LifecycleEvent, TelemetryBatch, TreeHead


class ReadOnlyAdmin(admin.ModelAdmin):
    """Evidence is looked at here, never edited: changes go through correction events."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(LifecycleEvent)
class LifecycleEventAdmin(ReadOnlyAdmin):
    list_display = ["battery", "sequence", "type", "actor", "occurred_at", "log_index"]
    list_filter = ["type"]
    search_fields = ["battery__identifier", "record_hash"]
    list_select_related = ["battery", "actor"]


@admin.register(TelemetryBatch)
class TelemetryBatchAdmin(ReadOnlyAdmin):
    list_display = ["battery", "format", "filename", "sample_count", "cycle_count", "created_at"]
    search_fields = ["battery__identifier", "sha256"]


@admin.register(CycleAggregate)
class CycleAggregateAdmin(ReadOnlyAdmin):
    list_display = ["battery", "cycle_index", "kind", "started_at", "discharge_ah", "temperature_max_c"]
    list_filter = ["kind"]


@admin.register(TreeHead)
class TreeHeadAdmin(ReadOnlyAdmin):
    list_display = ["tree_size", "root_hash", "timestamp"]


@admin.register(Anchor)
class AnchorAdmin(ReadOnlyAdmin):
    list_display = ["tree_head", "state", "chain_id", "block_number", "tx_hash", "attempts"]
    list_filter = ["state"]
