"""Rows that, once written, are evidence: the ORM refuses to change or delete them."""

from django.db import models


class AppendOnlyError(Exception):
    """Raised on any attempt to change or delete an append-only record through the ORM."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError(f"{self.model.__name__} records are append-only; record a correction instead")

    def delete(self):
        raise AppendOnlyError(f"{self.model.__name__} records are append-only and cannot be deleted")

    _raw_delete = delete


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(
                f"{type(self).__name__} records are append-only; record a correction instead"
            )
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{type(self).__name__} records are append-only and cannot be deleted")
