package main

import (
	"testing"
	"time"
)

const wrkSample = `Running 10s test @ http://127.0.0.1:8080/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.38ms    1.20ms  30.03ms   87.58%
    Req/Sec     4.76k   312.45     5.35k    70.50%
  Latency Distribution
     50%    3.17ms
     75%    3.73ms
     90%    4.50ms
     99%    7.85ms
  94707 requests in 10.01s, 79.21MB read
  Non-2xx or 3xx responses: 12
Requests/sec:   9463.12
Transfer/sec:      7.91MB
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk(wrkSample)
	if err != nil {
		t.Fatal(err)
	}
	if r.rps != 9463.12 || r.p99 != 7850*time.Microsecond || r.errors != "Non-2xx or 3xx responses: 12" {
		t.Errorf("parseWrk = %+v", r)
	}
}

func TestParseWrkMissingLatency(t *testing.T) {
	if _, err := parseWrk("Requests/sec:   10.00\n"); err == nil {
		t.Error("parseWrk accepted output without the latency distribution")
	}
}

func TestParseWrkDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"812.00us": 812 * time.Microsecond, "3.25ms": 3250 * time.Microsecond,
		"1.50s": 1500 * time.Millisecond, "2.00m": 2 * time.Minute,
	} {
		if got, err := parseWrkDuration(in); err != nil || got != want {
			t.Errorf("parseWrkDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "12", "xms", "-1ms"} {
		if _, err := parseWrkDuration(bad); err == nil {
			t.Errorf("parseWrkDuration(%q) succeeded", bad)
		}
	}
}
