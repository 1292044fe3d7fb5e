# Settings of the Django + Channels chat app (tests/apps/django_channels): production-like
# (DEBUG off), loopback only, a fresh SQLite file per process in a folder of its own that is
# removed at exit, and Channels' in-memory channel layer for the chat groups.
import atexit
import os
import shutil
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# Each process starts clean: its own database, migrated and given its users by chatsite.asgi.
DATA_DIR = tempfile.mkdtemp(prefix='django-channels-')
atexit.register(shutil.rmtree, DATA_DIR, True)

# `VARIANT=changed`: one field of the read receipt's JSON and one field of the chat message
# differ (chatsite.views.read, chatsite.consumers.ChatConsumer.chat_message).
VARIANT = os.environ.get('VARIANT', 'none')

SECRET_KEY = 'workalready-test-app-not-secret'
DEBUG = False
ALLOWED_HOSTS = ['127.0.0.1', 'localhost']

INSTALLED_APPS = [
    'django.contrib.auth',
    'django.contrib.contenttypes',
    'django.contrib.sessions',
    'channels',
]

MIDDLEWARE = [
    'django.middleware.security.SecurityMiddleware',
    'django.contrib.sessions.middleware.SessionMiddleware',
    'django.middleware.common.CommonMiddleware',
    'django.middleware.csrf.CsrfViewMiddleware',
    'django.contrib.auth.middleware.AuthenticationMiddleware',
]

ROOT_URLCONF = 'chatsite.urls'

TEMPLATES = [{
    'BACKEND': 'django.template.backends.django.DjangoTemplates',
    'DIRS': [BASE_DIR / 'templates'],
    'APP_DIRS': False,
    'OPTIONS': {
        'context_processors': [
            'django.template.context_processors.request',
            'django.contrib.auth.context_processors.auth',
        ],
    },
}]

ASGI_APPLICATION = 'chatsite.asgi.application'
CHANNEL_LAYERS = {'default': {'BACKEND': 'channels.layers.InMemoryChannelLayer'}}

DATABASES = {
    'default': {
        'ENGINE': 'django.db.backends.sqlite3',
        'NAME': os.path.join(DATA_DIR, 'db.sqlite3'),
    }
}
DEFAULT_AUTO_FIELD = 'django.db.models.AutoField'

# A fast hasher, as Django's testing docs suggest: the users are made at every start.
PASSWORD_HASHERS = ['django.contrib.auth.hashers.MD5PasswordHasher']

LOGIN_URL = '/accounts/login/'
LOGIN_REDIRECT_URL = '/chat/lobby/'

USE_TZ = True
TIME_ZONE = 'UTC'

LOGGING = {
    'version': 1,
    'disable_existing_loggers': False,
    'handlers': {'console': {'class': 'logging.StreamHandler'}},
    'root': {'handlers': ['console'], 'level': 'WARNING'},
}
