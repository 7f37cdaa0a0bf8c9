"""The WebSocket benchmark's Tornado server (bench/websocket.sh), doing what ws-torn does:
every client that opens /ws is kept; POST /broadcast writes the time (Unix nanoseconds) to
each of them.

    python3 bench/ws_tornado.py PORT
"""

import asyncio
import sys
import time

import tornado.web
import tornado.websocket

clients = set()


class Listener(tornado.websocket.WebSocketHandler):
    def check_origin(self, origin):
        return True

    def open(self):
        clients.add(self)

    def on_close(self):
        clients.discard(self)


class Broadcast(tornado.web.RequestHandler):
    def check_xsrf_cookie(self):
        pass

    def post(self):
        now = str(time.time_ns())
        for client in list(clients):
            try:
                client.write_message(now)
            except tornado.websocket.WebSocketClosedError:
                clients.discard(client)
        self.write("sent\n")


async def main():
    app = tornado.web.Application([(r"/ws", Listener), (r"/broadcast", Broadcast)])
    app.listen(int(sys.argv[1]), address="127.0.0.1")
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
