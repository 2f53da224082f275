package main

import (
	"strings"
	"testing"
)

const sample = `goos: linux
BenchmarkViewers/viewers=1000-2   	       1	14160275363 ns/op	1552.37 MB/s	        59.01 edge-cpu-%	        30.00 fps-median
BenchmarkViewers/viewers=1000-2   	       1	14160275363 ns/op	1552.37 MB/s	        57.94 edge-cpu-%	        29.00 fps-median
BenchmarkViewers/viewers=1000-2   	       1	14160275363 ns/op	1552.37 MB/s	        62.46 edge-cpu-%	        30.00 fps-median
BenchmarkViewers/viewers=100-2    	       1	14160275363 ns/op	155.0 MB/s	        6.5 edge-cpu-%	        30.00 fps-median
BenchmarkViewers/viewers=100-2    	       1	14160275363 ns/op	155.0 MB/s	        7.5 edge-cpu-%	        30.00 fps-median
--- BENCH: BenchmarkViewers/viewers=1000-2
    pipeline_test.go:1: a log line 3 x
PASS
`

func TestParseAndMedians(t *testing.T) {
	r, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := r.median("BenchmarkViewers/viewers=1000", "edge-cpu-%"); !ok || got != 59.01 {
		t.Errorf("median of 3 = %v, %v; want 59.01 (the middle one)", got, ok)
	}
	if got, _ := r.median("BenchmarkViewers/viewers=100", "edge-cpu-%"); got != 7 {
		t.Errorf("median of 2 = %v, want 7 (the mean of the two)", got)
	}
	if _, ok := r.median("BenchmarkViewers/viewers=100", "nope"); ok {
		t.Error("median of a unit never reported: ok = true, want false")
	}
	if n := r.runs("BenchmarkViewers/viewers=1000"); n != 3 {
		t.Errorf("runs = %d, want 3", n)
	}
	got := r.series("BenchmarkViewers/viewers=", "fps-median")
	want := [][2]float64{{100, 30}, {1000, 30}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("series = %v, want %v (sorted by viewers)", got, want)
	}
}

func TestParseRejectsBrokenLines(t *testing.T) {
	_, err := parse(strings.NewReader("BenchmarkX-2  1  12 ns/op  3.5\n"))
	if err == nil {
		t.Error("a result line with a value and no unit: no error")
	}
}
