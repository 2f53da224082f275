package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// results holds every value a benchmark reported, by benchmark name
// (without the -GOMAXPROCS suffix) and unit, one value per run.
type results map[string]map[string][]float64

// benchLine is a result line of `go test -bench`: name, iterations, then
// value-unit pairs.
var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

// parse reads `go test -bench` output; lines that are not results are
// skipped.
func parse(r io.Reader) (results, error) {
	res := results{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		fields := strings.Fields(m[2])
		if len(fields)%2 != 0 {
			return nil, fmt.Errorf("%s: odd number of value/unit fields in %q", m[1], m[2])
		}
		units := res[m[1]]
		if units == nil {
			units = map[string][]float64{}
			res[m[1]] = units
		}
		for i := 0; i < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: value %q: %w", m[1], fields[i], err)
			}
			units[fields[i+1]] = append(units[fields[i+1]], v)
		}
	}
	return res, sc.Err()
}

// median of one benchmark's unit, and whether it was reported.
func (r results) median(name, unit string) (float64, bool) {
	vs := slices.Clone(r[name][unit])
	if len(vs) == 0 {
		return 0, false
	}
	slices.Sort(vs)
	n := len(vs)
	if n%2 == 1 {
		return vs[n/2], true
	}
	return (vs[n/2-1] + vs[n/2]) / 2, true
}

// runs is the most runs any unit of the benchmark has.
func (r results) runs(name string) int {
	n := 0
	for _, vs := range r[name] {
		n = max(n, len(vs))
	}
	return n
}

// series returns, for benchmarks named prefix + N (N a number, e.g.
// BenchmarkViewers/viewers=100), the points (N, median of unit), sorted by N.
func (r results) series(prefix, unit string) [][2]float64 {
	var pts [][2]float64
	for name := range r {
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok {
			continue
		}
		x, err := strconv.ParseFloat(rest, 64)
		if err != nil {
			continue
		}
		if y, ok := r.median(name, unit); ok {
			pts = append(pts, [2]float64{x, y})
		}
	}
	slices.SortFunc(pts, func(a, b [2]float64) int {
		switch {
		case a[0] < b[0]:
			return -1
		case a[0] > b[0]:
			return 1
		}
		return 0
	})
	return pts
}
