// Command benchplot draws the pipeline benchmarks' results (the output of
// `go test -bench` in test/bench, as make bench writes it) as PNG charts:
// frame rate and CPU against viewers, latency against viewers, and capture
// against the bare loop. Each point is the median of the runs.
//
//	benchplot -in .artifacts/bench/pipeline.txt -out docs
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	in := flag.String("in", ".artifacts/bench/pipeline.txt", "`go test -bench` output of test/bench")
	out := flag.String("out", "docs", "directory for the PNG files")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "benchplot:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := parse(f)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	charts := []struct {
		file string
		draw func(results, string) error
	}{
		{"bench-viewers.png", drawViewers},
		{"bench-latency.png", drawLatency},
		{"bench-capture-vs-bare.png", drawCaptureVsBare},
	}
	drawn := 0
	for _, c := range charts {
		path := filepath.Join(out, c.file)
		switch err := c.draw(r, path); err {
		case nil:
			fmt.Println("benchplot: wrote", path)
			drawn++
		case errNoData:
			fmt.Println("benchplot: no results for", c.file, "(benchmark not run)")
		default:
			return fmt.Errorf("%s: %w", c.file, err)
		}
	}
	if drawn == 0 {
		return fmt.Errorf("%s: no pipeline benchmark results to draw", in)
	}
	return nil
}
