from django.contrib.auth import views as auth_views
from django.urls import path

from chatsite import views

urlpatterns = [
    path('accounts/login/', auth_views.LoginView.as_view(), name='login'),
    path('chat/<str:room_name>/', views.room, name='room'),
    path('chat/<str:room_name>/read/', views.read, name='read'),
]
