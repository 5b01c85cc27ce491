from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from passport import batterypass
from passport.choices import BatteryCategory, BatteryKind, PassportState
from passport.models import Battery, BatteryModel, BulkRegistrationJob, Composition, Organisation, Passport
from passport.services import access
from passport.services.identifiers import qr_url

# Registry fields that are longlist attributes, shown only to roles the longlist allows.
RESTRICTED_BATTERY_FIELDS = {"status": 11, "put_into_service_at": 7}


class OrganisationBriefSerializer(serializers.ModelSerializer):
    iri = serializers.CharField(read_only=True)

    class Meta:
        model = Organisation
        fields = ["id", "iri", "name", "operator_identifier"]


class OrganisationSerializer(serializers.ModelSerializer):
    iri = serializers.CharField(read_only=True)

    class Meta:
        model = Organisation
        fields = [
            "id",
            "iri",
            "name",
            "trade_name",
            "issuing_agency_code",
            "company_prefix",
            "operator_identifier",
            "street_address",
            "postal_code",
            "country",
            "email",
            "website",
        ]


class BatteryModelSerializer(serializers.ModelSerializer):
    iri = serializers.CharField(read_only=True)
    manufacturer = OrganisationBriefSerializer(read_only=True)
    kind = serializers.ChoiceField(choices=BatteryKind.choices)
    category = serializers.ChoiceField(choices=BatteryCategory.choices)

    class Meta:
        model = BatteryModel
        fields = [
            "id",
            "iri",
            "manufacturer",
            "model_number",
            "name",
            "kind",
            "category",
            "chemistry",
            "rated_capacity_ah",
            "nominal_voltage_v",
            "rated_energy_kwh",
            "mass_kg",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def validate_model_number(self, value: str) -> str:
        organisation = self.context["organisation"]
        clash = BatteryModel.objects.filter(manufacturer=organisation, model_number=value)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError(f"{organisation.name} already has a model {value!r}")
        return value


class BatteryModelBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = BatteryModel
        fields = [
            "id",
            "model_number",
            "name",
            "kind",
            "category",
            "chemistry",
            "rated_capacity_ah",
            "nominal_voltage_v",
        ]


class PassportBriefSerializer(serializers.ModelSerializer):
    iri = serializers.CharField(read_only=True)

    class Meta:
        model = Passport
        fields = ["id", "iri", "identifier", "state", "created_at"]


class BatterySerializer(serializers.ModelSerializer):
    """A battery's registry record; longlist-restricted fields are dropped for roles without the right."""

    iri = serializers.CharField(read_only=True)
    model = BatteryModelBriefSerializer(read_only=True)
    manufacturer = OrganisationBriefSerializer(source="model.manufacturer", read_only=True)
    operator = OrganisationBriefSerializer(read_only=True)
    passport = serializers.SerializerMethodField()
    qr_url = serializers.SerializerMethodField()

    class Meta:
        model = Battery
        fields = [
            "id",
            "iri",
            "identifier",
            "issuing_agency_code",
            "company_prefix",
            "serial_number",
            "kind",
            "model",
            "manufacturer",
            "operator",
            "status",
            "manufactured_at",
            "put_into_service_at",
            "passport",
            "qr_url",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(PassportBriefSerializer(allow_null=True))
    def get_passport(self, battery: Battery) -> dict | None:
        active = [p for p in battery.passports.all() if p.state == PassportState.ACTIVE]
        return PassportBriefSerializer(active[0]).data if active else None

    def get_qr_url(self, battery: Battery) -> str:
        return qr_url(battery.identifier)

    def to_representation(self, battery: Battery) -> dict:
        data = super().to_representation(battery)
        role = access.reading_role(self.context["request"].user, battery)
        for name, number in RESTRICTED_BATTERY_FIELDS.items():
            if not batterypass.attributes()[number].visible_to(role):
                data.pop(name, None)
        return data


class BatteryUpdateSerializer(serializers.Serializer):
    put_into_service_at = serializers.DateTimeField(allow_null=True)


class CompositionSerializer(serializers.ModelSerializer):
    parent = serializers.CharField(source="parent.identifier", read_only=True)
    child = serializers.CharField(source="child.identifier", read_only=True)

    class Meta:
        model = Composition
        fields = ["parent", "child", "position", "installed_at", "removed_at", "reason"]


class InstallSerializer(serializers.Serializer):
    identifier = serializers.CharField(help_text="Identifier of the component battery")
    position = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)
    installed_at = serializers.DateTimeField(required=False)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


class RemoveSerializer(serializers.Serializer):
    identifier = serializers.CharField(help_text="Identifier of the component battery")
    removed_at = serializers.DateTimeField(required=False)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


class JobSerializer(serializers.ModelSerializer):
    class Meta:
        model = BulkRegistrationJob
        fields = [
            "id",
            "state",
            "row_count",
            "created_count",
            "errors",
            "created_at",
            "started_at",
            "finished_at",
        ]
