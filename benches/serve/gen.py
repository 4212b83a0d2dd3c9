#!/usr/bin/env python3
"""Writes the wrk Lua scripts for the serve benchmark: a signed GitHub push delivery
(the same body and X-Hub-Signature-256 for every request, a unique X-GitHub-Delivery
per request, as GitHub does), and a forged variant with a wrong signature."""
import hashlib, hmac, json, pathlib, sys

out = pathlib.Path(sys.argv[1])
secret = sys.argv[2].encode()
body = json.dumps({
    "ref": "refs/heads/main",
    "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
    "after": "a10867b14bb761a232cd80139fbd4c0d33264240",
    "repository": {"full_name": "bench/flowspec"},
    "pusher": {"name": "bench"},
    "commits": [{"id": "a10867b14bb761a232cd80139fbd4c0d33264240", "message": "bench"}],
}, separators=(",", ":"))
good = "sha256=" + hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()
bad = "sha256=" + "0" * 64

template = """
local body = [==[{body}]==]
local signature = "{signature}"
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function init(args)
  counter = 0
  run = os.time()
end
function request()
  counter = counter + 1
  local headers = {{}}
  headers["Content-Type"] = "application/json"
  headers["X-GitHub-Event"] = "push"
  headers["X-GitHub-Delivery"] = string.format("%d-%d-%d", run, tid, counter)
  headers["X-Hub-Signature-256"] = signature
  return wrk.format("POST", nil, headers, body)
end
"""
(out / "signed.lua").write_text(template.format(body=body, signature=good))
(out / "forged.lua").write_text(template.format(body=body, signature=bad))
(out / "body.json").write_text(body)
