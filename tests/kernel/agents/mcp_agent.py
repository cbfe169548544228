"""A command agent in Python (no SDK, no pip): speaks MCP by hand to the host's gateway over the
connection the launcher handed it (WARDEN_UNIX_FD), then tries a few escapes. One JSON line
per step on stdout."""
import json
import os
import socket
import subprocess
import sys

fd = int(os.environ["WARDEN_UNIX_FD"])
conn = socket.socket(fileno=fd)
reader = conn.makefile("r", encoding="utf-8")
next_id = 0


def rpc(method, params=None):
    global next_id
    next_id += 1
    msg = {"jsonrpc": "2.0", "id": next_id, "method": method}
    if params is not None:
        msg["params"] = params
    conn.sendall((json.dumps(msg) + "\n").encode())
    return json.loads(reader.readline())


def say(step, **kw):
    print(json.dumps({"step": step, **kw}), flush=True)


init = rpc("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                          "clientInfo": {"name": "py", "version": "1"}})
conn.sendall(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
say("initialize", server=init["result"]["serverInfo"]["name"])
tools = rpc("tools/list")["result"]["tools"]
say("tools/list", names=[t["name"] for t in tools])
r = rpc("tools/call", {"name": "noop", "arguments": {}})["result"]
say("call noop", isError=r["isError"], text=r["content"][0]["text"])
r = rpc("tools/call", {"name": "shell", "arguments": {"command": "rm -rf /"}})["result"]
say("call shell", isError=r["isError"], text=r["content"][0]["text"])

for step, fn in [
    ("read /etc/shadow", lambda: open("/etc/shadow").read()),
    ("read secret", lambda: open(sys.argv[1]).read()),
    ("tcp out", lambda: socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=3)),
    ("unix socket", lambda: socket.socket(socket.AF_UNIX).connect(sys.argv[3])),
    ("run a program", lambda: subprocess.run(["/bin/true"], check=True)),
]:
    try:
        fn()
        say(step, ok=True)
    except Exception as e:  # noqa: BLE001
        say(step, ok=False, error=str(e)[:120])
open("written.txt", "w").write("from python")
say("done")
