from django.urls import path
from django.views.generic import RedirectView

urlpatterns = [
    # Until the orders dashboard exists, home is the tenant list.
    path("", RedirectView.as_view(pattern_name="tenant-list"), name="home"),
]
