"""Flask + Flask-Login + Flask-SocketIO 5 (eventlet): the login-and-chat app of the other apps.

  GET  /            the login form, or (signed in) the chat page
  POST /login       username=...&password=... (any password) -> session cookie, 303 to /
  POST /logout      ends the session, 303 to /
  GET  /api/me      {username} of the session (401 when signed out)
  GET  /api/token   {token} for the session, used by --auth token|query
  socket.io         welcome {username} on connect; chat {text} + ack -> broadcast chat
                    {from, text}, ack {ok: true, id}; bin <bytes> + ack -> ack {ok, size,
                    echo: <the same bytes>}

--auth cookie: the Engine.IO handshake request carries Flask's session cookie (Flask-Login's
current_user); token: the CONNECT packet's auth {token}; query: ?token= on the Engine.IO URL.
Anonymous sockets are refused: the connect handler returns False, which Flask-SocketIO sends as
44{"message":"Connection rejected by server"} (PROTOCOLS.md section 2).

Run with Debian's interpreter, /usr/bin/python3, which has the python3-flask-socketio,
python3-flask-login and python3-eventlet packages. Prints `LISTENING <port>` once it accepts
connections and exits 0 on SIGTERM.
"""

import eventlet

# Before anything else imports socket or threading (eventlet's documented requirement).
eventlet.monkey_patch()

import argparse  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

import eventlet.wsgi  # noqa: E402
from flask import Flask, jsonify, redirect, request, send_file, session  # noqa: E402
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user  # noqa: E402
from flask_socketio import SocketIO, emit  # noqa: E402

HERE = Path(__file__).resolve().parent
COMMON = HERE.parent / "common"
REPO = HERE.parents[2]
CLIENT_SCRIPT = REPO / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
TITLE = "Flask-SocketIO chat"
VARIANTS = ["none", "payload", "status", "noevent", "extraevent", "noise"]


def parse_options(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    env = os.environ
    parser.add_argument("--port", type=int, default=int(env.get("PORT", "0")))
    parser.add_argument("--auth", choices=["cookie", "token", "query"], default=env.get("AUTH", "cookie"))
    parser.add_argument("--variant", choices=VARIANTS, default=env.get("VARIANT", "none"))
    parser.add_argument("--tls-cert", default=env.get("TLS_CERT"))
    parser.add_argument("--tls-key", default=env.get("TLS_KEY"))
    options = parser.parse_args(argv)
    if not 0 <= options.port <= 65535:
        parser.error("--port must be 0..65535")
    if bool(options.tls_cert) != bool(options.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    return options


def fill_template(name, values):
    text = (COMMON / name).read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace(f"__{key}__", value)
    return text


class User(UserMixin):
    def __init__(self, username):
        self.id = username


class ChatRoom:
    """The chat logic every app shares (see tests/apps/common/server.js), so all answer alike."""

    def __init__(self, variant):
        self.variant = variant
        self.next_id = 1

    def welcome(self, username):
        if self.variant == "payload":
            return {"username": username, "role": "member"}
        return {"username": username}

    def chat(self, username, message):
        if not isinstance(message, dict) or not isinstance(message.get("text"), str):
            return None, {"ok": False, "error": "text missing"}
        ack = {"ok": True, "id": self.next_id}
        self.next_id += 1
        return {"from": username, "text": message["text"]}, ack

    def binary(self, data):
        """The ack of a `bin` event: the bytes back (a binary attachment), with their size."""
        if not isinstance(data, (bytes, bytearray)):
            return {"ok": False, "error": "bytes expected"}
        return {"ok": True, "size": len(data), "echo": bytes(data)}

    def me(self, username):
        if self.variant != "noise":
            return {"username": username}
        now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return {"username": username, "time": now, "nonce": secrets.token_hex(8)}


def create_app(options):
    app = Flask(__name__)
    app.secret_key = secrets.token_bytes(32)
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")
    logins = LoginManager(app)
    socketio = SocketIO(app, async_mode="eventlet")
    room = ChatRoom(options.variant)
    tokens = {}  # token -> username, for this process only
    users = {}  # socket sid -> username

    @logins.user_loader
    def load_user(username):
        return User(username)

    @logins.unauthorized_handler
    def unauthorized():
        return jsonify(error="not signed in"), 401

    def chat_page():
        config = '{"flavor":"v4","auth":"%s"}' % options.auth
        return fill_template(
            "chat.html", {"TITLE": TITLE, "SCRIPT_SRC": "/client/socket.io.min.js", "CONFIG": config}
        )

    @app.get("/")
    def home():
        if current_user.is_authenticated:
            return chat_page()
        return fill_template("login.html", {"TITLE": TITLE})

    @app.post("/login")
    def login():
        username = (request.form.get("username") or "").strip()
        if not username or len(username) > 64:
            return "username missing or too long\n", 400, {"Content-Type": "text/plain"}
        login_user(User(username))
        if options.variant == "status":
            return chat_page(), 200
        return redirect("/", code=303)

    @app.post("/logout")
    def logout():
        logout_user()
        session.clear()
        return redirect("/", code=303)

    @app.get("/api/me")
    def me():
        if not current_user.is_authenticated:
            return unauthorized()
        return jsonify(room.me(current_user.id))

    @app.get("/api/token")
    def token():
        if not current_user.is_authenticated:
            return unauthorized()
        if "token" not in session:
            session["token"] = secrets.token_hex(16)
            tokens[session["token"]] = current_user.id
        return jsonify(token=session["token"])

    # Flask-SocketIO owns /socket.io/, so the browser client is served from elsewhere.
    @app.get("/client/socket.io.min.js")
    def client_script():
        if not CLIENT_SCRIPT.is_file():
            return "run npm ci at the repository root\n", 404, {"Content-Type": "text/plain"}
        return send_file(CLIENT_SCRIPT, mimetype="application/javascript")

    @socketio.on("connect")
    def on_connect(auth=None):
        if options.auth == "cookie":
            username = current_user.id if current_user.is_authenticated else None
        elif options.auth == "token":
            username = tokens.get(auth.get("token")) if isinstance(auth, dict) else None
        else:
            username = tokens.get(request.args.get("token"))
        if not username:
            return False
        users[request.sid] = username
        if options.variant != "noevent":
            emit("welcome", room.welcome(username))
        if options.variant == "extraevent":
            emit("notice", {"text": "welcome back"})
        return None

    @socketio.on("disconnect")
    def on_disconnect():
        users.pop(request.sid, None)

    @socketio.on("chat")
    def on_chat(message):
        broadcast, ack = room.chat(users.get(request.sid), message)
        if broadcast is not None:
            emit("chat", broadcast, broadcast=True)
        return ack

    @socketio.on("bin")
    def on_bin(data):
        return room.binary(data)

    return app


def main(argv):
    options = parse_options(argv)
    app = create_app(options)
    listener = eventlet.listen(("127.0.0.1", options.port))
    if options.tls_cert:
        listener = eventlet.wrap_ssl(
            listener, certfile=options.tls_cert, keyfile=options.tls_key, server_side=True
        )
    # SIGTERM ends the process at once: nothing is kept that would need flushing.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    print(f"LISTENING {listener.getsockname()[1]}", flush=True)
    eventlet.wsgi.server(listener, app, log_output=False)


if __name__ == "__main__":
    main(sys.argv[1:])
