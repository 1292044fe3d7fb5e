# The ASGI application daphne serves: Django for HTTP, Channels for the chat WebSocket (the
# session's user through AuthMiddlewareStack, the Origin checked against ALLOWED_HOSTS).
# Importing it migrates this process's fresh database and creates the users alice and bob
# (password "secret").
import os

os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'chatsite.settings')

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

from chatsite import routing  # noqa: E402

call_command('migrate', interactive=False, verbosity=0)
for name in ('alice', 'bob'):
    get_user_model().objects.create_user(name, password='secret')

application = ProtocolTypeRouter({
    'http': django_asgi_app,
    'websocket': AllowedHostsOriginValidator(
        AuthMiddlewareStack(URLRouter(routing.websocket_urlpatterns))),
})
