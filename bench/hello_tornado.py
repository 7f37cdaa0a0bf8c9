"""Tornado's hello world (the seed article's program), on the port given as argv[1]."""

import asyncio
import sys

import tornado.web


class IndexPageHandler(tornado.web.RequestHandler):
    def get(self):
        self.write("<h1>Hello world! Welcome to Tornado</h1>")


async def main():
    app = tornado.web.Application([(r"/", IndexPageHandler)])
    app.listen(int(sys.argv[1]), address="127.0.0.1")
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
