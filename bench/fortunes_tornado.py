"""Tornado's "fortunes" page for bench/pages.sh: read every row of the SQLite file argv[2] (made by
pages-axum), add one, sort by message, render a template that escapes; on the port argv[1]."""

import asyncio
import sqlite3
import sys

import tornado.template
import tornado.web

PAGE = tornado.template.Template(
    "<!DOCTYPE html>\n<html><head><title>Fortunes</title></head><body><table><tr><th>id</th>"
    "<th>message</th></tr>{% for id, message in fortunes %}<tr><td>{{ id }}</td>"
    "<td>{{ message }}</td></tr>{% end %}</table></body></html>\n"
)


class FortunesHandler(tornado.web.RequestHandler):
    def initialize(self, db):
        self.db = db

    def get(self):
        fortunes = self.db.execute("SELECT id, message FROM fortune").fetchall()
        fortunes.append((0, "Additional fortune added at request time."))
        fortunes.sort(key=lambda f: f[1])
        self.write(PAGE.generate(fortunes=fortunes))


async def main():
    db = sqlite3.connect(sys.argv[2])
    app = tornado.web.Application([(r"/fortunes", FortunesHandler, {"db": db})])
    app.listen(int(sys.argv[1]), address="127.0.0.1")
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
