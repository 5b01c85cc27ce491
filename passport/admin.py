from django.contrib import admin

from passport.models import (
    Battery,
    BatteryModel,
    BulkRegistrationJob,
    Composition,
    Membership,
    Organisation,
    Passport,
    PassportSection,
)


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "issuing_agency_code", "company_prefix", "country"]
    search_fields = ["name", "company_prefix"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organisation", "role", "granted_at"]
    list_filter = ["role"]
    autocomplete_fields = ["organisation"]


@admin.register(BatteryModel)
class BatteryModelAdmin(admin.ModelAdmin):
    list_display = ["model_number", "name", "manufacturer", "kind", "category", "chemistry"]
    list_filter = ["kind", "category", "chemistry"]
    search_fields = ["model_number", "name"]


class CompositionInline(admin.TabularInline):
    model = Composition
    fk_name = "parent"
    extra = 0
    raw_id_fields = ["child"]


@admin.register(Battery)
class BatteryAdmin(admin.ModelAdmin):
    list_display = ["identifier", "kind", "model", "operator", "status", "manufactured_at"]
    list_filter = ["kind", "status", "model__category"]
    search_fields = ["identifier", "serial_number"]
    raw_id_fields = ["model", "operator"]
    inlines = [CompositionInline]


class SectionInline(admin.StackedInline):
    model = PassportSection
    extra = 0


@admin.register(Passport)
class PassportAdmin(admin.ModelAdmin):
    list_display = ["identifier", "battery", "state", "created_at"]
    list_filter = ["state"]
    search_fields = ["identifier", "battery__identifier"]
    raw_id_fields = ["battery", "issued_by"]
    filter_horizontal = ["predecessors"]
    inlines = [SectionInline]


@admin.register(BulkRegistrationJob)
class BulkRegistrationJobAdmin(admin.ModelAdmin):
    list_display = ["id", "organisation", "state", "row_count", "created_count", "created_at"]
    list_filter = ["state"]
    exclude = ["rows"]
