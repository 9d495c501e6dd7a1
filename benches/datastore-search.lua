-- wrk script for benches/datastore.py: CKAN datastore_search POSTs on the synthetic
-- population register, one query kind per run (DS_KIND), values varied per request:
--   district     filters {"district": d}, limit 10       (~1/13 of the rows match)
--   district_age filters {"district": d, "age": a}       (~1/1300 of the rows)
--   narrow       filters {"district": d, "age": a, "score": s}  (~0-1 rows: three fields)
--   page         no filter, limit 10, offset n (≤ 100,000), include_total false
-- Credentials from DS_TOKEN (Bearer), table from DS_RID. Prints one RESULT line (JSON, µs).
local token = os.getenv("DS_TOKEN")
local rid = os.getenv("DS_RID")
local kind = os.getenv("DS_KIND") or "district"
local districts = {"上城区", "下城区", "江干区", "拱墅区", "西湖区", "滨江区", "萧山区", "余杭区",
  "富阳区", "临安区", "桐庐县", "淳安县", "建德市"}
local n = 0
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}

setup = function(thread)
  thread:set("seed", math.random(1, 1000000))
end

init = function(args)
  n = (seed or 1) * 7919
end

request = function()
  n = n + 1
  local d = districts[(n % #districts) + 1]
  local body
  if kind == "district" then
    body = string.format('{"resource_id":"%s","filters":{"district":"%s"},"limit":10}', rid, d)
  elseif kind == "district_age" then
    body = string.format('{"resource_id":"%s","filters":{"district":"%s","age":%d},"limit":10}', rid, d, n % 100)
  elseif kind == "narrow" then
    body = string.format('{"resource_id":"%s","filters":{"district":"%s","age":%d,"score":%.2f},"limit":10}',
      rid, d, n % 100, (n % 10000) / 100)
  else
    body = string.format('{"resource_id":"%s","limit":10,"offset":%d,"include_total":false}', rid, (n * 7919) % 100000)
  end
  return wrk.format("POST", "/api/3/action/datastore_search", headers, body)
end

done = function(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    'RESULT {"rps":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d,"requests":%d,"errors":%d}\n',
    summary.requests / secs, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, summary.requests, e.status + e.connect + e.read + e.write + e.timeout))
end
