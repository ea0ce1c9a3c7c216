-- POST /row to the bare app: one small row, as a touch would be.
dofile(os.getenv("BENCH_LUA") .. "/common.lua")

function request()
  local body = string.format('{"customer_id":"%s","channel":"phone","occurred_at":"%s"}',
    string.format("c-%06d", math.random(1, 50000)), common.instant(math.random(0, 3600)))
  return wrk.format("POST", "/row", nil, body)
end
