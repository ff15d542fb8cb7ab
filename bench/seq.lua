-- wrk script for bench/ingest.py: POSTs companion envelopes with unique, increasing seqs.
--
-- Arguments (after wrk's "--"): <stream prefix> <batch size> <data JSON>
--   batch size 0: one envelope object per request; N > 0: a JSON array of N envelopes.
-- Every wrk thread owns the stream "<prefix>-t<n>" and numbers its events 1, 2, 3, ... so no
-- (source, stream, seq) repeats within a run; the prefix makes streams unique across runs.
-- done() prints one line "BENCH_JSON {...}" with exact counts and latency percentiles (us).

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("thread_number", #threads)
end

local head, tail, batch
local counter = 0
local headers = { ["Content-Type"] = "application/json" }

function init(args)
   local prefix = args[1] or "bench"
   batch = tonumber(args[2] or "0")
   local data = args[3] or "{}"
   local stream = prefix .. "-t" .. tostring(thread_number)
   head = '{"source":"bench","stream":"' .. stream .. '","seq":'
   tail = ',"event":"Tick","data":' .. data .. '}'
end

function request()
   local body
   if batch == 0 then
      counter = counter + 1
      body = head .. string.format("%d", counter) .. tail
   else
      local parts = {}
      for i = 1, batch do
         counter = counter + 1
         parts[i] = head .. string.format("%d", counter) .. tail
      end
      body = "[" .. table.concat(parts, ",") .. "]"
   end
   return wrk.format("POST", nil, headers, body)
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,'
         .. '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d,'
         .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean))
end
