-- GET the URL given to wrk, with the API key: one static request, no Lua per request.
dofile(os.getenv("BENCH_LUA") .. "/common.lua")
