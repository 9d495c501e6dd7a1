#!/usr/bin/env python3
"""A local SMS gateway and identity verification service for the browser tests
(standard library only). Started by run.sh:

    python3 tests/browser/sms_receiver.py PORT

POST /sms      records the JSON body {to, text, purpose} (onecity's SMS gateway protocol)
GET  /messages the recorded messages, oldest first, as a JSON list
POST /verify   {name, id_number, tenant} -> {"match": bool}, true for the persons below
               (synthetic test persons with valid GB 11643-1999 check digits)
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PERSONS = {("李四", "440308199003070021"), ("张三", "11010519491231002X")}
MESSAGES = []
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def _json(self, status, body):
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n) or b"{}")

    def do_POST(self):
        if self.path == "/sms":
            with LOCK:
                MESSAGES.append(self._body())
            self._json(202, {"accepted": True})
        elif self.path == "/verify":
            b = self._body()
            self._json(200, {"match": (b.get("name"), b.get("id_number")) in PERSONS})
        else:
            self._json(404, {"error": "no such path"})

    def do_GET(self):
        if self.path == "/messages":
            with LOCK:
                self._json(200, list(MESSAGES))
        else:
            self._json(404, {"error": "no such path"})

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
