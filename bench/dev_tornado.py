"""Tornado in debug mode (autoreload, templates read afresh), for bench/src/bin/dev-reload.rs: a page from a template and a
handler whose text is in its code (the benchmark edits both).

    python3 bench/dev_tornado.py PORT     (run in a folder with templates/home.html)
"""
import asyncio
import sys

import tornado.web


class Home(tornado.web.RequestHandler):
    def get(self):
        self.render("home.html")


class Stamp(tornado.web.RequestHandler):
    def get(self):
        self.write("stamp 0")


async def main(port):
    app = tornado.web.Application(
        [(r"/", Home), (r"/stamp", Stamp)],
        template_path="templates",
        debug=True,
    )
    app.listen(port, address="127.0.0.1")
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
