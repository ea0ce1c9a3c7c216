-- POST /v1/touches: one touch of the last hour for a random customer, a unique external_id.
dofile(os.getenv("BENCH_LUA") .. "/common.lua")

function request()
  return wrk.format("POST", "/v1/touches", nil, common.touch(common.unique("single"), 3600))
end
