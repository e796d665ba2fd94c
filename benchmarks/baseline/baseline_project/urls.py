from django.http import HttpResponse
from django.urls import path
from scoring.views import EvaluateView

urlpatterns = [
    path("evaluate", EvaluateView.as_view()),
    path("healthz", lambda request: HttpResponse("ok")),
]
