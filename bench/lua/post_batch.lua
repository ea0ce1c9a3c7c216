-- POST /v1/touches/batch: BENCH_BATCH touches (default 1000) of the last 30 days, each for a
-- random customer with a unique external_id. Non-2xx answers are counted by status code.
dofile(os.getenv("BENCH_LUA") .. "/common.lua")
local size = tonumber(os.getenv("BENCH_BATCH") or "1000")

function request()
  local items = {}
  local prefix = common.unique("batch")
  for i = 1, size do
    items[i] = common.touch(prefix .. "-" .. i, 30 * 86400)
  end
  return wrk.format("POST", "/v1/touches/batch", nil,
    '{"touches":[' .. table.concat(items, ",") .. ']}')
end

function response(status, headers, body)
  common.count_status(status)
end
