-- wrk script for bench/farm-bench.sh: every request names a user in the
-- X-Sub header (the server turns it into OIDC_CLAIM_sub, the identity the
-- module reads), walking PC_USERS bulk users of the simulator
-- (f0000000-0000-4000-8000-<12 digits>, from PC_START) in turn; each
-- thread starts at a different place.  The same script drives the ungated
-- location, so both do the same identity work.
local n = tonumber(os.getenv("PC_USERS") or "10000")
local start = tonumber(os.getenv("PC_START") or "0")
local users = {}
local i = 0
local threads = 0

function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

function init(args)
  for k = 0, n - 1 do
    users[k + 1] = string.format("f0000000-0000-4000-8000-%012d", start + k)
  end
  i = math.floor((id or 0) * n / 2) % n
end

function request()
  i = (i + 1) % n
  return wrk.format(nil, nil, {["X-Sub"] = users[i + 1]})
end
