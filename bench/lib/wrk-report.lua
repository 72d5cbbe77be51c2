-- wrk script shared by the benchmarks.
--
-- Environment:
--   BENCH_FORM_BODY  when set, every request is a POST with this body as
--                    application/x-www-form-urlencoded (how Perses panels call query_range);
--                    otherwise wrk sends its plain GET.
--   BENCH_JSON_BODY  when set (and BENCH_FORM_BODY is not), every request is a POST with this
--                    body as application/json (logins).
--
-- At the end it prints one machine-readable line after wrk's own report, so the calling script
-- does not have to parse wrk's human units ("1.23ms", "4.5k"):
--   BENCH requests=N duration_us=N rps=F p50_us=N p90_us=N p99_us=N max_us=N non2xx=N socket_errors=N

local form_body = os.getenv("BENCH_FORM_BODY")
if form_body and form_body ~= "" then
  wrk.method = "POST"
  wrk.body = form_body
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
else
  local json_body = os.getenv("BENCH_JSON_BODY")
  if json_body and json_body ~= "" then
    wrk.method = "POST"
    wrk.body = json_body
    wrk.headers["Content-Type"] = "application/json"
  end
end

function done(summary, latency, requests)
  local errors = summary.errors
  local socket_errors = errors.connect + errors.read + errors.write + errors.timeout
  io.write(string.format(
    "BENCH requests=%d duration_us=%d rps=%.2f p50_us=%d p90_us=%d p99_us=%d max_us=%d non2xx=%d socket_errors=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50.0), latency:percentile(90.0), latency:percentile(99.0), latency.max,
    errors.status, socket_errors))
end
