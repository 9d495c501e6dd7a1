-- wrk script: Open311 GeoReport v2 POSTs (form-encoded) at points spread over Manhattan,
-- each routed (geo index, dispatch rules), checked for duplicates and given a work order.
-- The app key comes from the environment (OPEN311_KEY).
local key = os.getenv("OPEN311_KEY")
local n = 0
request = function()
  n = n + 1
  local lat = 40.72 + (n % 400) * 0.00012
  local lon = -74.00 + (n % 97) * 0.00005
  local body = "api_key=" .. key .. "&jurisdiction_id=nyc&service_code=pothole&lat=" .. lat ..
    "&long=" .. lon .. "&attribute%5Bsize%5D=small&description=bench+" .. n
  return wrk.format("POST", "/open311/v2/requests.json",
    {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
