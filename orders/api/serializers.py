from __future__ import annotations

from rest_framework import serializers

from connectors.models import Tenant
from orders.models import LeverNote, NoteAttempt, Order, ScreeningService, StatusEvent


class OrderListSerializer(serializers.ModelSerializer):
    tenant: serializers.SlugRelatedField[Tenant] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    lever_status = serializers.CharField(read_only=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "reference",
            "tenant",
            "opportunity_id",
            "candidate_name",
            "candidate_email",
            "package_code",
            "package_name",
            "status",
            "lever_status",
            "piecemeal_status",
            "score",
            "order_number",
            "screening_id",
            "is_active",
            "submit_state",
            "cannot_order",
            "error_message",
            "report_url",
            "lever_url",
            "created_at",
            "updated_at",
            "last_heard_at",
        ]


class ServiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = ScreeningService
        fields = ["service_id", "name", "status", "score", "completed_at", "report_url"]


class StatusEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = StatusEvent
        fields = [
            "id",
            "created_at",
            "source",
            "outcome",
            "reason",
            "from_status",
            "to_status",
            "arrived_status",
            "arrived_piecemeal_status",
            "arrived_score",
            "arrived_updated_at",
            "inbound_event",
            "actor",
        ]


class NoteAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = NoteAttempt
        fields = ["started_at", "duration_ms", "outcome", "http_status", "error"]


class NoteSerializer(serializers.ModelSerializer):
    attempts_log = NoteAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = LeverNote
        fields = [
            "id",
            "kind",
            "text",
            "state",
            "attempts",
            "is_resync",
            "lever_note_id",
            "last_error",
            "last_http_status",
            "created_at",
            "delivered_at",
            "attempts_log",
        ]


class OrderDetailSerializer(OrderListSerializer):
    services = ServiceSerializer(many=True, read_only=True)
    history = StatusEventSerializer(many=True, read_only=True)
    notes = NoteSerializer(many=True, read_only=True)

    class Meta(OrderListSerializer.Meta):
        fields = [
            *OrderListSerializer.Meta.fields,
            "completed_at",
            "services",
            "history",
            "notes",
        ]


class QueuedSerializer(serializers.Serializer):
    status = serializers.CharField()
