from __future__ import annotations

import django_filters
from django.db.models import Q

from passport import batterypass
from passport.choices import BatteryCategory, BatteryKind, BatteryStatus, Role
from passport.exceptions import Forbidden
from passport.models import Battery, BatteryModel
from passport.services import access


class BatteryModelFilterSet(django_filters.FilterSet):
    manufacturer = django_filters.UUIDFilter(field_name="manufacturer_id")
    kind = django_filters.MultipleChoiceFilter(choices=BatteryKind.choices)
    category = django_filters.MultipleChoiceFilter(choices=BatteryCategory.choices)
    chemistry = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = BatteryModel
        fields = ["manufacturer", "kind", "category", "chemistry", "model_number"]


class BatteryFilterSet(django_filters.FilterSet):
    identifier = django_filters.CharFilter()
    q = django_filters.CharFilter(method="search", label="Identifier or serial number contains")
    kind = django_filters.MultipleChoiceFilter(choices=BatteryKind.choices)
    model = django_filters.UUIDFilter(field_name="model_id")
    model_number = django_filters.CharFilter(field_name="model__model_number")
    chemistry = django_filters.CharFilter(field_name="model__chemistry", lookup_expr="iexact")
    category = django_filters.MultipleChoiceFilter(
        field_name="model__category", choices=BatteryCategory.choices
    )
    manufacturer = django_filters.UUIDFilter(field_name="model__manufacturer_id")
    operator = django_filters.UUIDFilter(field_name="operator_id")
    manufactured_after = django_filters.IsoDateTimeFilter(field_name="manufactured_at", lookup_expr="gte")
    manufactured_before = django_filters.IsoDateTimeFilter(field_name="manufactured_at", lookup_expr="lt")
    # Restricted: battery status (#11) and date of putting into service (#7) are legitimate-interest data.
    status = django_filters.MultipleChoiceFilter(choices=BatteryStatus.choices)
    put_into_service_after = django_filters.IsoDateTimeFilter(
        field_name="put_into_service_at", lookup_expr="gte"
    )
    put_into_service_before = django_filters.IsoDateTimeFilter(
        field_name="put_into_service_at", lookup_expr="lt"
    )

    RESTRICTED = {"status": 11, "put_into_service_after": 7, "put_into_service_before": 7}

    class Meta:
        model = Battery
        fields = []

    def search(self, queryset, name, value):
        return queryset.filter(Q(identifier__icontains=value) | Q(serial_number__icontains=value))

    def filter_queryset(self, queryset):
        used = [name for name in self.RESTRICTED if self.form.cleaned_data.get(name) not in (None, [], "")]
        if used:
            queryset = self._scope_for_restricted(queryset, used)
        return super().filter_queryset(queryset)

    def _scope_for_restricted(self, queryset, used: list[str]):
        """Filtering on a restricted attribute must not reveal it where the caller may not read it."""
        user = self.request.user
        role = access.granted_role(user)
        attributes = batterypass.attributes()
        if all(attributes[self.RESTRICTED[name]].visible_to(role) for name in used):
            if role != Role.ECONOMIC_OPERATOR:
                return queryset
            # An operator sees these attributes only for its own batteries.
            organisation = access.organisation_id(user)
            return queryset.filter(Q(operator_id=organisation) | Q(model__manufacturer_id=organisation))
        raise Forbidden(
            f"filtering by {', '.join(used)} needs legitimate-interest or operator access "
            f"(Battery Pass attributes {', '.join(str(self.RESTRICTED[n]) for n in used)})"
        )
