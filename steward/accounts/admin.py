from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import Absence, Team, User


@admin.register(User)
class StewardUserAdmin(UserAdmin):
    list_display = ("username", "first_name", "last_name", "role", "team", "backup", "is_active")
    list_filter = ("role", "team", "is_active")
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        ("Steward", {"fields": ("role", "team", "sector", "backup", "language")}),
    )


admin.site.register(Team)


@admin.register(Absence)
class AbsenceAdmin(admin.ModelAdmin):
    list_display = ("user", "starts_at", "ends_at", "reason")
