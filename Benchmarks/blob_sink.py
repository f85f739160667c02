"""A stand-in node for the blob upload benchmark: answers Ollama's /api/blobs as Ollama does (HEAD
404 until held, POST 201 after checking the SHA-256, 400 on a mismatch) while reading the upload in
1 MiB pieces, so it holds no more of it than Ollama would. Also answers /api/tags and /api/ps, so
TensorWall counts it healthy. Usage: python3 blob_sink.py PORT"""

import hashlib
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

held = set()


class Node(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=b""):
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        if self.path in ("/api/tags", "/api/ps"):
            return self.answer(200, b'{"models":[]}')
        if self.path == "/api/version":
            return self.answer(200, b'{"version":"0.12.0"}')
        self.answer(200, b"Ollama is running")

    def do_HEAD(self):
        digest = self.path.rsplit("/", 1)[-1]
        self.answer(200 if digest in held else 404)

    def do_POST(self):
        digest = self.path.rsplit("/", 1)[-1]
        hasher = hashlib.sha256()
        if "chunked" in self.headers.get("Transfer-Encoding", ""):
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                while size:
                    piece = self.rfile.read(min(size, 1 << 20))
                    hasher.update(piece)
                    size -= len(piece)
                self.rfile.readline()
        else:
            left = int(self.headers.get("Content-Length", "0"))
            while left:
                piece = self.rfile.read(min(left, 1 << 20))
                if not piece:
                    return
                hasher.update(piece)
                left -= len(piece)
        actual = "sha256:" + hasher.hexdigest()
        if actual != digest:
            return self.answer(400, json.dumps({"error": f'digest mismatch, expected "{digest}", got "{actual}"'}).encode())
        held.add(digest)
        self.answer(201)


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Node).serve_forever()
