"""A command agent that fetches through the proxy its environment names (urllib reads
HTTP_PROXY), then straight past it. One JSON line per attempt."""
import json
import sys
import urllib.request

url = sys.argv[1]
for step, opener in [
    ("via the proxy", urllib.request.build_opener()),
    ("past the proxy", urllib.request.build_opener(urllib.request.ProxyHandler({}))),
]:
    try:
        r = opener.open(url, timeout=10)
        print(json.dumps({"step": step, "status": r.status, "body": r.read(200).decode()}))
    except urllib.error.HTTPError as e:
        print(json.dumps({"step": step, "status": e.code, "body": e.read(200).decode()}))
    except Exception as e:  # noqa: BLE001
        print(json.dumps({"step": step, "error": str(e)[:160]}))
    sys.stdout.flush()
