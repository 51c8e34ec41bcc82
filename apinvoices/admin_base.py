"""Admin building blocks shared by the three apps' admin modules."""

from __future__ import annotations

from django.contrib import admin


class ReadOnlyAdminMixin:
    """For append-only or system-written rows: viewable, never added, changed or deleted here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyModelAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


class ReadOnlyTabularInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def get_readonly_fields(self, request, obj=None):
        return [f for f in self.fields] if self.fields else super().get_readonly_fields(request, obj)
