-- PUT /v1/customers/{id}: a full profile for a random existing customer of BENCH_FIRST ..
-- BENCH_LAST (customers of the hundred ordinary reps). The owner stays the customer's own
-- (the rule of bench/dataset.py's other_owner), so the work queues keep their sizes; the rest
-- changes with every request: name, segment, stage, industry, zone, preferences, attributes.
dofile(os.getenv("BENCH_LUA") .. "/common.lua")
local teams = {"north-sales", "south-sales", "key-accounts", "service"}
local segments = {"strategic", "high_value", "standard", "standard", "standard"}
local stages = {"lead", "opportunity", "negotiation", "customer", "loyal", "nurturing"}
local industries = {"fmcg", "industrial", "software", "retail"}
local zones = {{"Asia/Shanghai", "CN"}, {"Europe/Berlin", "DE"}, {"America/New_York", "US"}}

function request()
  local index = math.random(common.first, common.last)
  local id = string.format("c-%06d", index)
  local zone = zones[math.random(#zones)]
  local body = string.format(
    '{"customer_id":"%s","name":"Customer %d (%s)","segment":"%s","stage":"%s",' ..
    '"market":"%s","industry":"%s","owner":{"rep_id":"rep-%03d","team":"%s"},' ..
    '"timezone":"%s","country":"%s","email":"%s@example.com","preferences":' ..
    '{"opted_out_channels":["sms"],"preferred_channels":["phone","email"],' ..
    '"max_contacts_per_30d":%d,"quiet_hours":{"start":"20:00","end":"08:00"}},' ..
    '"attributes":{"crm_sync":"%s","score":%d,"tags":["bench","profile"]}}',
    id, index, common.unique("put"), segments[math.random(#segments)],
    stages[math.random(#stages)], math.random() < 0.7 and "b2b" or "b2c",
    industries[math.random(#industries)], index % 100, teams[index % 4 + 1], zone[1], zone[2],
    id, math.random(4, 12), common.unique("sync"), math.random(0, 100))
  return wrk.format("PUT", "/v1/customers/" .. id, nil, body)
end
