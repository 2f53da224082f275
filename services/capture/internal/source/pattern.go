package source

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"time"

	"gocv.io/x/gocv"

	"github.com/camstream/camstream/services/capture/internal/config"
)

// pattern is the built-in test:// source: a moving picture with the camera
// name, a frame counter and the time drawn on it, made at the configured
// size and rate without any external input.
type pattern struct {
	kind string
	name string
	w, h int
	bg   gocv.Mat // drawn once: bars or a plain background
	wait ticker
	n    uint64
}

func newPattern(kind string, opts Options) *pattern {
	w := opts.Width
	if w <= 0 {
		w = 640
	}
	h := (w*9/16 + 1) &^ 1
	fps := opts.FPS
	if fps <= 0 {
		fps = 30
	}
	p := &pattern{kind: kind, name: opts.Name, w: w, h: h, wait: newTicker(fps)}
	p.bg = gocv.NewMatWithSizeFromScalar(gocv.NewScalar(40, 30, 20, 0), h, w, gocv.MatTypeCV8UC3)
	if kind == config.PatternSMPTE {
		drawBars(&p.bg, w, h)
	} else {
		drawGrid(&p.bg, w, h)
	}
	return p
}

// drawGrid draws a faint grid, so that scaling and compression show.
func drawGrid(m *gocv.Mat, w, h int) {
	step := max(w/16, 8)
	c := color.RGBA{70, 60, 50, 0}
	for x := step; x < w; x += step {
		gocv.Line(m, image.Pt(x, 0), image.Pt(x, h), c, 1)
	}
	for y := step; y < h; y += step {
		gocv.Line(m, image.Pt(0, y), image.Pt(w, y), c, 1)
	}
}

// drawBars draws SMPTE-style colour bars.
func drawBars(m *gocv.Mat, w, h int) {
	top := []color.RGBA{
		{191, 191, 191, 0}, {191, 191, 0, 0}, {0, 191, 191, 0}, {0, 191, 0, 0},
		{191, 0, 191, 0}, {191, 0, 0, 0}, {0, 0, 191, 0},
	}
	for i, c := range top {
		gocv.Rectangle(m, image.Rect(i*w/7, 0, (i+1)*w/7, h*2/3), c, -1)
	}
	bottom := []color.RGBA{
		{0, 33, 76, 0}, {255, 255, 255, 0}, {50, 0, 106, 0}, {19, 19, 19, 0},
		{9, 9, 9, 0}, {19, 19, 19, 0}, {29, 29, 29, 0},
	}
	for i, c := range bottom {
		gocv.Rectangle(m, image.Rect(i*w/7, h*2/3, (i+1)*w/7, h), c, -1)
	}
}

func (p *pattern) Read(ctx context.Context, dst *gocv.Mat) error {
	if err := p.wait.wait(ctx); err != nil {
		return err
	}
	p.n++
	p.bg.CopyTo(dst)
	scale := float64(p.w) / 640
	t := float64(p.n)
	switch p.kind {
	case config.PatternSMPTE:
		// A bar sweeping across so that motion is visible.
		x := int(p.n*4) % p.w
		gocv.Rectangle(dst, image.Rect(x, p.h*2/3, x+p.w/40+1, p.h), color.RGBA{255, 255, 255, 0}, -1)
	default:
		r := max(p.h/12, 4)
		x := r + bounce(t*3*scale, p.w-2*r)
		y := r + bounce(t*2*scale, p.h-2*r)
		gocv.Circle(dst, image.Pt(x, y), r, color.RGBA{240, 200, 40, 0}, -1)
	}
	white := color.RGBA{255, 255, 255, 0}
	line := int(28 * scale)
	text := func(s string, row int) {
		org := image.Pt(int(12*scale), line*row)
		gocv.PutText(dst, s, org, gocv.FontHersheySimplex, 0.8*scale, color.RGBA{}, max(int(4*scale), 2))
		gocv.PutText(dst, s, org, gocv.FontHersheySimplex, 0.8*scale, white, max(int(2*scale), 1))
	}
	text(p.name, 1)
	text(fmt.Sprintf("frame %d", p.n), 2)
	text(time.Now().Format("2006-01-02 15:04:05.000"), 3)
	return nil
}

// bounce maps a growing position onto 0..span and back.
func bounce(pos float64, span int) int {
	if span <= 0 {
		return 0
	}
	v := int(pos) % (2 * span)
	if v > span {
		v = 2*span - v
	}
	return v
}

func (p *pattern) Close() error {
	return p.bg.Close()
}
