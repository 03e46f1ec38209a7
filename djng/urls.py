"""The empty URLconf Django's fallbacks read when no djng Router is serving."""

urlpatterns: list = []
