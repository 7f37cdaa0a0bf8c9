"""A small Tornado app that shares a cookie secret with a torn app, for interop tests.

usage: python3 tornado_peer.py SECRET_JSON [KEY_VERSION]

SECRET_JSON is a JSON string (one secret) or an object {"1": "...", "2": "..."}.
Prints the port it listens on, then serves until killed.
"""

import asyncio
import json
import sys

import tornado.web


class SetCookie(tornado.web.RequestHandler):
    def get(self):
        self.set_signed_cookie(self.get_argument("name"), self.get_argument("value"))
        self.write("ok")


class GetCookie(tornado.web.RequestHandler):
    def get(self):
        value = self.get_signed_cookie(self.get_argument("name"))
        self.write(value.decode() if value is not None else "absent")


class Xsrf(tornado.web.RequestHandler):
    def get(self):
        self.write(self.xsrf_token)

    def post(self):
        self.write("accepted")


async def main():
    secret = json.loads(sys.argv[1])
    settings = {"xsrf_cookies": True}
    if isinstance(secret, dict):
        settings["cookie_secret"] = {int(k): v for k, v in secret.items()}
        settings["key_version"] = int(sys.argv[2])
    else:
        settings["cookie_secret"] = secret
    app = tornado.web.Application(
        [(r"/set", SetCookie), (r"/get", GetCookie), (r"/xsrf", Xsrf)], **settings
    )
    server = app.listen(0, address="127.0.0.1")
    port = next(iter(server._sockets.values())).getsockname()[1]
    print(port, flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
