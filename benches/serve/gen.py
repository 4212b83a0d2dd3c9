#!/usr/bin/env python3
"""Writes the wrk Lua scripts for the serve benchmark.

signed.lua sends GitHub push deliveries as GitHub does: each with its own body (here a
commit id that counts up), its own X-Hub-Signature-256 and its own X-GitHub-Delivery.
Distinct bodies matter: flowspec refuses a body it has seen before as a replay. wrk's
Lua cannot compute an HMAC, so the deliveries are signed here in advance (COUNT of them,
spread over wrk's threads); a run that sends more than COUNT wraps around, and the
repeats show up as non-2xx answers. forged.lua sends one body with a wrong signature.

    gen.py OUT_DIR SECRET [COUNT, default 400000]
"""
import hashlib, hmac, json, pathlib, sys

out = pathlib.Path(sys.argv[1])
secret = sys.argv[2].encode()
count = int(sys.argv[3]) if len(sys.argv) > 3 else 400_000


def body(i):
    commit = f"{i:040x}"
    return json.dumps({
        "ref": "refs/heads/main",
        "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
        "after": commit,
        "repository": {"full_name": "bench/flowspec"},
        "pusher": {"name": "bench"},
        "commits": [{"id": commit, "message": "bench"}],
    }, separators=(",", ":"))


with open(out / "deliveries.txt", "w") as f:
    for i in range(count):
        b = body(i)
        signature = "sha256=" + hmac.new(secret, b.encode(), hashlib.sha256).hexdigest()
        f.write(f"{signature} {b}\n")

signed = """
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function init(args)
  -- This thread's share of the pre-signed deliveries.
  deliveries = {}
  local n = 0
  for line in io.lines("%(path)s") do
    if n %% 2 == tid %% 2 then
      local space = line:find(" ", 1, true)
      deliveries[#deliveries + 1] = {line:sub(1, space - 1), line:sub(space + 1)}
    end
    n = n + 1
  end
  counter = 0
end
function request()
  counter = counter + 1
  local d = deliveries[(counter - 1) %% #deliveries + 1]
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["X-GitHub-Event"] = "push"
  headers["X-GitHub-Delivery"] = string.format("%%d-%%d", tid, counter)
  headers["X-Hub-Signature-256"] = d[1]
  return wrk.format("POST", nil, headers, d[2])
end
""" % {"path": (out / "deliveries.txt").as_posix()}

forged = """
local body = [==[%(body)s]==]
local counter = 0
function request()
  counter = counter + 1
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["X-GitHub-Event"] = "push"
  headers["X-GitHub-Delivery"] = string.format("forged-%%d", counter)
  headers["X-Hub-Signature-256"] = "sha256=" .. string.rep("0", 64)
  return wrk.format("POST", nil, headers, body)
end
""" % {"body": body(0)}

(out / "signed.lua").write_text(signed)
(out / "forged.lua").write_text(forged)
(out / "body.json").write_text(body(0))
