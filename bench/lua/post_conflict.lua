-- POST /v1/conflict-checks for a random customer: a phone call by another rep and team.
dofile(os.getenv("BENCH_LUA") .. "/common.lua")

function request()
  local body = string.format(
    '{"customer_id":"%s","channel":"phone","actor":{"rep_id":"rep-x","team":"t"}}', common.id())
  return wrk.format("POST", "/v1/conflict-checks", nil, body)
end
