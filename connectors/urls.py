from django.urls import path

from connectors import views

urlpatterns = [
    path("", views.tenant_list, name="tenant-list"),
]
