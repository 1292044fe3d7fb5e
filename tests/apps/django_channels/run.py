#!/usr/bin/python3
# Serves the Django + Channels chat app with daphne on 127.0.0.1:$PORT (0 = any free port) and
# prints `LISTENING <port>` once it listens. Exits 0 on SIGTERM or SIGINT.
#
#   PORT=0 [VARIANT=changed] /usr/bin/python3 tests/apps/django_channels/run.py
#
# The same app under daphne's own command line, from this folder:
#   daphne -b 127.0.0.1 -p $PORT chatsite.asgi:application
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'chatsite.settings')

from daphne.server import Server  # noqa: E402  (installs Twisted's asyncio reactor first)

from chatsite.asgi import application  # noqa: E402


def main():
    port = int(os.environ.get('PORT', '0'))
    server = None

    def ready():
        print('LISTENING %d' % server.listening_addresses[0][1], flush=True)

    server = Server(application, endpoints=['tcp:port=%d:interface=127.0.0.1' % port],
                    ready_callable=ready)
    server.run()


if __name__ == '__main__':
    main()
