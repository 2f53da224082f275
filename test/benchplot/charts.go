package main

import (
	"errors"
	"fmt"
	"image/color"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

var errNoData = errors.New("no data")

const viewersPrefix = "BenchmarkViewers/viewers="

var palette = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
}

// viewersPlot is a plot against the number of viewers, on a log scale.
func viewersPlot(r results, title, ylabel string, units, names []string) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "viewers of one 720p30 camera on one edge"
	p.Y.Label.Text = ylabel
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	p.Legend.Left = true
	any := false
	for i, unit := range units {
		pts := r.series(viewersPrefix, unit)
		if len(pts) == 0 {
			continue
		}
		any = true
		xys := make(plotter.XYs, len(pts))
		for j, pt := range pts {
			xys[j].X, xys[j].Y = pt[0], pt[1]
			p.Y.Max = max(p.Y.Max, pt[1]*1.15)
		}
		l, s, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, err
		}
		l.Color, s.Color = palette[i%len(palette)], palette[i%len(palette)]
		l.Width = vg.Points(1.5)
		p.Add(l, s)
		p.Legend.Add(names[i], l, s)
	}
	if !any {
		return nil, errNoData
	}
	return p, nil
}

// drawViewers: frame rate (top) and CPU (bottom) against viewers.
func drawViewers(r results, path string) error {
	n := r.runs(viewersPrefix + "1000")
	fps, err := viewersPlot(r, fmt.Sprintf("Frame rate each viewer gets (median of %d runs)", n), "frames per second",
		[]string{"fps-median", "fps-min"}, []string{"median viewer", "slowest viewer"})
	if err != nil {
		return err
	}
	fps.Legend.Top, fps.Legend.Left = false, true
	cpu, err := viewersPlot(r, "CPU", "% of one core",
		[]string{"edge-cpu-%", "capture-cpu-%", "client-cpu-%"}, []string{"edge", "capture", "load client (the viewers)"})
	if err != nil {
		return err
	}
	return saveStack(path, fps, cpu)
}

// drawLatency: capture-to-viewer latency against viewers.
func drawLatency(r results, path string) error {
	p, err := viewersPlot(r, fmt.Sprintf("Latency, capture to viewer (median of %d runs)", r.runs(viewersPrefix+"1000")), "milliseconds",
		[]string{"latency-p50-ms", "latency-p99-ms"}, []string{"p50", "p99"})
	if err != nil {
		return err
	}
	return p.Save(16*vg.Centimeter, 10*vg.Centimeter, path)
}

// drawCaptureVsBare: capture's CPU beside the bare loop's (OpenCV read and
// JPEG encode, nothing else), measured at the same time on the same camera.
func drawCaptureVsBare(r results, path string) error {
	cases := []struct{ name, label string }{
		{"BenchmarkCaptureVsBareLoop/gomaxprocs=1", "1 viewer\n(GOMAXPROCS=1)"},
		{"BenchmarkCaptureVsBareLoop/gomaxprocs=2", "1 viewer\n(GOMAXPROCS=2)"},
		{"BenchmarkCaptureFlat/edges=1/viewers=1", "1 edge,\n1 viewer"},
		{"BenchmarkCaptureFlat/edges=3/viewers=1000", "3 edges,\n1000 viewers"},
	}
	var capture, bare plotter.Values
	var labels []string
	for _, c := range cases {
		cv, ok1 := r.median(c.name, "capture-cpu-%")
		bv, ok2 := r.median(c.name, "bare-cpu-%")
		if !ok1 || !ok2 {
			continue
		}
		capture, bare = append(capture, cv), append(bare, bv)
		ratio, _ := r.median(c.name, "capture/bare")
		labels = append(labels, fmt.Sprintf("%s\n%.3f×", c.label, ratio))
	}
	if len(labels) == 0 {
		return errNoData
	}
	p := plot.New()
	p.Title.Text = "capture against the bare loop, same camera, same time (medians)"
	p.Y.Label.Text = "% of one core"
	p.Add(plotter.NewGrid())
	w := vg.Points(18)
	for i, vs := range []plotter.Values{capture, bare} {
		b, err := plotter.NewBarChart(vs, w)
		if err != nil {
			return err
		}
		b.Color = palette[i]
		b.LineStyle.Width = 0
		b.Offset = vg.Length(2*i-1) * w / 2
		p.Add(b)
		p.Legend.Add([]string{"capture", "bare loop"}[i], b)
	}
	for _, v := range capture {
		p.Y.Max = max(p.Y.Max, v*1.3)
	}
	for _, v := range bare {
		p.Y.Max = max(p.Y.Max, v*1.3)
	}
	p.Legend.Top, p.Legend.Left = true, true
	p.NominalX(labels...)
	return p.Save(16*vg.Centimeter, 10*vg.Centimeter, path)
}

// saveStack writes plots one above the other, their axes aligned.
func saveStack(path string, plots ...*plot.Plot) error {
	const w, h = 16 * vg.Centimeter, 8 * vg.Centimeter
	img := vgimg.New(w, h*vg.Length(len(plots)))
	dc := draw.New(img)
	rows := make([][]*plot.Plot, len(plots))
	for i, p := range plots {
		rows[i] = []*plot.Plot{p}
	}
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadY: vg.Millimeter * 4}
	canvases := plot.Align(rows, tiles, dc)
	for i, p := range plots {
		p.Draw(canvases[i][0])
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
