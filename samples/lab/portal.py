#!/usr/bin/env python3
"""The lab's portal web server (portalvm, the DIP): serves one folder over HTTP/1.1.

Usage: portal.py ADDRESS PORT FOLDER

Python's stock `python3 -m http.server` resolves its own address with socket.getfqdn() when it
binds, which inside the lab's namespaces means a DNS query that can never be answered (and would
show up in the captures). This server skips that lookup and otherwise behaves like the stock one.
Standard library only.
"""
import functools
import http.server
import socketserver
import sys


class Server(http.server.ThreadingHTTPServer):
    """ThreadingHTTPServer without the reverse DNS lookup of its own address."""

    def server_bind(self):
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = host
        self.server_port = port


class Handler(http.server.SimpleHTTPRequestHandler):
    """Keep-alive capable file handler (HTTP/1.1, Content-Length on every response)."""

    protocol_version = "HTTP/1.1"
    server_version = "stackflow-lab-portal/1"


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: portal.py ADDRESS PORT FOLDER")
    address, port, folder = argv[0], int(argv[1]), argv[2]
    handler = functools.partial(Handler, directory=folder)
    with Server((address, port), handler) as server:
        print(f"portal: serving {folder} on {address}:{port}", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
