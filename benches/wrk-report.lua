-- wrk reporter for benches/run.sh: one machine-readable line per run (latencies in µs).
-- Headers come from wrk's -H flags; this script only adds the summary.
done = function(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "RESULT rps=%.0f p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d requests=%d non2xx=%d sockerr=%d\n",
    summary.requests / secs, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.max, summary.requests,
    e.status, e.connect + e.read + e.write + e.timeout))
end
