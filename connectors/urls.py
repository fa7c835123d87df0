from django.urls import path

from connectors import views

urlpatterns = [
    path("", views.tenant_list, name="tenant-list"),
    path("new/", views.tenant_create, name="tenant-create"),
    path("<slug:slug>/", views.tenant_detail, name="tenant-detail"),
    path("<slug:slug>/edit/", views.tenant_edit, name="tenant-edit"),
    path("<slug:slug>/secrets/<str:name>/", views.tenant_secret, name="tenant-secret"),
    path("<slug:slug>/packages/", views.tenant_packages, name="tenant-packages"),
    path("<slug:slug>/managers/", views.tenant_managers, name="tenant-managers"),
    path("<slug:slug>/check/", views.tenant_check_view, name="tenant-check"),
]
