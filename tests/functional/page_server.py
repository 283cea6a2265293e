"""A one-page web server for the browser test, run as its own process.

``python page_server.py PAGE_FILE RESULT_FILE`` serves PAGE_FILE at ``/``
on a free loopback port, prints that port, and exits once the page has
POSTed its findings to ``/result`` (written to RESULT_FILE).  It runs apart
from the test process so no real threads or early imports of
``socketserver`` live in a process that later patches them with eventlet.
"""
import http.server
import sys


def main(page_file, result_file):
    with open(page_file, "rb") as handle:
        page = handle.read()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with open(result_file, "wb") as out:
                out.write(body)
            self.send_response(204)
            self.end_headers()
            self.server.done = True

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    server.done = False
    print(server.server_address[1], flush=True)
    while not server.done:
        server.handle_request()
    server.server_close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
