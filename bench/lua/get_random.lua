-- GET BENCH_PATH with "{id}" replaced by a random id from [BENCH_FIRST, BENCH_LAST].
dofile(os.getenv("BENCH_LUA") .. "/common.lua")

function request()
  local path = string.gsub(common.path, "{id}", common.id())
  return wrk.format("GET", path)
end
