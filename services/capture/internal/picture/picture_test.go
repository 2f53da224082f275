package picture

import (
	"fmt"
	"image"
	"image/color"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/camstream/camstream/services/capture/internal/config"
)

func camera(c config.Controls) config.Camera {
	return config.Camera{ID: "a", Name: "Cam A", Controls: c}
}

// numbered returns a w×h one-channel picture whose pixel (x, y) is y*w+x.
func numbered(t *testing.T, w, h int) gocv.Mat {
	t.Helper()
	m := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC1)
	for y := range h {
		for x := range w {
			m.SetUCharAt(y, x, uint8(y*w+x))
		}
	}
	return m
}

// want is the picture control's effect computed pixel by pixel: where
// source pixel (x, y) of a w×h picture lands.
func want(rotate int, flip config.Flip, w, h, x, y int) (int, int, int, int) {
	switch rotate { // clockwise
	case 90:
		x, y, w, h = h-1-y, x, h, w
	case 180:
		x, y = w-1-x, h-1-y
	case 270:
		x, y, w, h = y, w-1-x, h, w
	}
	if flip == config.FlipHorizontal || flip == config.FlipBoth {
		x = w - 1 - x
	}
	if flip == config.FlipVertical || flip == config.FlipBoth {
		y = h - 1 - y
	}
	return x, y, w, h
}

func TestRotateAndFlip(t *testing.T) {
	const w, h = 5, 3
	for _, rot := range []int{0, 90, 180, 270} {
		for _, flip := range []config.Flip{config.FlipNone, config.FlipHorizontal, config.FlipVertical, config.FlipBoth} {
			t.Run(fmt.Sprintf("rotate %d flip %q", rot, flip), func(t *testing.T) {
				src := numbered(t, w, h)
				defer src.Close()
				p := New(camera(config.Controls{Rotate: rot, Flip: flip}))
				defer p.Close()
				got, err := p.Apply(src, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				_, _, ww, wh := want(rot, flip, w, h, 0, 0)
				if got.Cols() != ww || got.Rows() != wh {
					t.Fatalf("size %d×%d, want %d×%d", got.Cols(), got.Rows(), ww, wh)
				}
				for y := range h {
					for x := range w {
						dx, dy, _, _ := want(rot, flip, w, h, x, y)
						if v := got.GetUCharAt(dy, dx); int(v) != y*w+x {
							t.Fatalf("pixel (%d,%d) = %d, want source pixel (%d,%d) = %d", dx, dy, v, x, y, y*w+x)
						}
					}
				}
			})
		}
	}
}

// Crop is in pixels of the rotated picture.
func TestCropAfterRotate(t *testing.T) {
	src := numbered(t, 6, 4)
	defer src.Close()
	p := New(camera(config.Controls{Rotate: 90, Crop: image.Rect(1, 2, 3, 5)}))
	defer p.Close()
	for range 3 { // the view is reused from frame to frame
		got, err := p.Apply(src, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if got.Cols() != 2 || got.Rows() != 3 {
			t.Fatalf("size %d×%d, want 2×3", got.Cols(), got.Rows())
		}
		for y := range 3 {
			for x := range 2 {
				// rotated (1+x, 2+y) is source (2+y, 4-1-(1+x))
				sx, sy := 2+y, 2-x
				if v, wantV := got.GetUCharAt(y, x), uint8(sy*6+sx); v != wantV {
					t.Fatalf("cropped pixel (%d,%d) = %d, want %d", x, y, v, wantV)
				}
			}
		}
	}
}

func TestMasksFillOpaque(t *testing.T) {
	green := color.RGBA{G: 255, A: 255}
	red := color.RGBA{R: 255, A: 255}
	src := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(50, 100, 150, 0), 40, 60, gocv.MatTypeCV8UC3)
	defer src.Close()
	p := New(camera(config.Controls{Crop: image.Rect(10, 0, 60, 40), Masks: []config.Mask{
		{Rect: image.Rect(2, 3, 12, 9), Color: green},
		{Points: []image.Point{{20, 20}, {30, 20}, {30, 30}, {20, 30}}, Color: red},
	}}))
	defer p.Close()
	got, err := p.Apply(src, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for y := range got.Rows() {
		for x := range got.Cols() {
			v := got.GetVecbAt(y, x) // B, G, R
			pt := image.Pt(x, y)
			switch {
			case pt.In(image.Rect(2, 3, 12, 9)):
				if v[0] != 0 || v[1] != 255 || v[2] != 0 {
					t.Fatalf("masked pixel (%d,%d) = BGR %v, want green", x, y, v)
				}
			case pt.In(image.Rect(20, 20, 31, 31)):
				if v[0] != 0 || v[1] != 0 || v[2] != 255 {
					t.Fatalf("polygon pixel (%d,%d) = BGR %v, want red", x, y, v)
				}
			case v[0] != 50 || v[1] != 100 || v[2] != 150:
				t.Fatalf("unmasked pixel (%d,%d) = BGR %v, want the source's", x, y, v)
			}
		}
	}
}

func TestBoundsCheckedOnFrame(t *testing.T) {
	tests := []struct {
		name string
		c    config.Controls
		want string
	}{
		{"crop too wide", config.Controls{Crop: image.Rect(0, 0, 61, 10)},
			`camera "a": crop: {x: 0, y: 0, width: 61, height: 10} does not fit the 60×40 picture`},
		{"crop after rotate", config.Controls{Rotate: 270, Crop: image.Rect(0, 0, 60, 40)},
			`camera "a": crop: {x: 0, y: 0, width: 60, height: 40} does not fit the 40×60 picture (after rotate and flip)`},
		{"mask outside crop", config.Controls{Crop: image.Rect(0, 0, 20, 20), Masks: []config.Mask{{Rect: image.Rect(15, 15, 25, 18)}}},
			`camera "a": masks[0]: {x: 15, y: 15, width: 10, height: 3} does not fit the 20×20 picture (after crop)`},
		{"polygon outside", config.Controls{Masks: []config.Mask{{Rect: image.Rect(0, 0, 4, 4)}, {Points: []image.Point{{0, 0}, {61, 0}, {0, 10}}}}},
			`camera "a": masks[1]: polygon point [61, 0] is outside the 60×40 picture`},
		{"polygon below", config.Controls{Masks: []config.Mask{{Points: []image.Point{{0, 0}, {60, 41}, {0, 10}}}}},
			`camera "a": masks[0]: polygon point [60, 41] is outside the 60×40 picture`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := gocv.NewMatWithSize(40, 60, gocv.MatTypeCV8UC3)
			defer src.Close()
			p := New(camera(tt.c))
			defer p.Close()
			_, err := p.Apply(src, time.Now())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Apply error = %v, want %q", err, tt.want)
			}
		})
	}
}

// A polygon may have its points on the picture's edges, as a rectangle
// may end there: [60, 40] is the bottom-right corner of a 60×40 picture.
func TestPolygonOnTheEdges(t *testing.T) {
	src := gocv.NewMatWithSize(40, 60, gocv.MatTypeCV8UC3)
	defer src.Close()
	p := New(camera(config.Controls{Masks: []config.Mask{{Points: []image.Point{{30, 0}, {60, 0}, {60, 40}, {30, 40}}, Color: color.RGBA{255, 0, 0, 255}}}}))
	defer p.Close()
	out, err := p.Apply(src, time.Now())
	if err != nil {
		t.Fatalf("Apply of a polygon to the picture's edges: %v", err)
	}
	for _, pt := range []image.Point{{30, 0}, {59, 0}, {59, 39}, {45, 20}} {
		if v := out.GetVecbAt(pt.Y, pt.X); v[2] != 255 || v[0] != 0 {
			t.Errorf("pixel %v = BGR %v, want red up to the edges", pt, v)
		}
	}
}

// With no control set, Apply hands back the frame itself and costs
// nothing.
func TestNoControlsIsFree(t *testing.T) {
	src := gocv.NewMatWithSize(40, 60, gocv.MatTypeCV8UC3)
	defer src.Close()
	p := New(camera(config.Controls{}))
	defer p.Close()
	got, err := p.Apply(src, time.Now())
	if err != nil || got.Ptr() != src.Ptr() {
		t.Fatalf("Apply = %v, %v; want the source Mat itself", got.Ptr(), err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = p.Apply(src, time.Now()) }); n != 0 {
		t.Errorf("Apply without controls allocates %v times per frame, want 0", n)
	}
}

// Frame after frame, the controls reuse their buffers: no allocation.
func TestControlsDoNotAllocatePerFrame(t *testing.T) {
	src := gocv.NewMatWithSize(360, 640, gocv.MatTypeCV8UC3)
	defer src.Close()
	p := New(camera(config.Controls{Rotate: 180, Crop: image.Rect(0, 20, 600, 300),
		Masks:   []config.Mask{{Rect: image.Rect(0, 0, 100, 50)}},
		Overlay: config.Overlay{Text: "{name} %H:%M:%S", Corner: config.TopRight}}))
	defer p.Close()
	now := time.Now()
	if _, err := p.Apply(src, now); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(50, func() { _, _ = p.Apply(src, now) }); n != 0 {
		t.Errorf("Apply allocates %v times per frame, want 0", n)
	}
}

// The overlay is drawn in its corner: white text with a black outline,
// within a margin of the picture's edges, nothing elsewhere.
func TestOverlayCorners(t *testing.T) {
	for _, corner := range []config.Corner{config.TopLeft, config.TopRight, config.BottomLeft, config.BottomRight} {
		t.Run(string(corner), func(t *testing.T) {
			src := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(128, 128, 128, 0), 360, 640, gocv.MatTypeCV8UC3)
			defer src.Close()
			p := New(camera(config.Controls{Overlay: config.Overlay{Text: "{name} %H:%M:%S", Corner: corner, Size: 20}}))
			defer p.Close()
			got, err := p.Apply(src, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
			if err != nil {
				t.Fatal(err)
			}
			var changed image.Rectangle
			white, black := 0, 0
			for y := range got.Rows() {
				for x := range got.Cols() {
					v := got.GetVecbAt(y, x)
					switch {
					case v[0] == 255 && v[1] == 255 && v[2] == 255:
						white++
					case v[0] == 0 && v[1] == 0 && v[2] == 0:
						black++
					case v[0] == 128 && v[1] == 128 && v[2] == 128:
						continue
					default:
						t.Fatalf("pixel (%d,%d) = %v, want grey, or the text's white or black", x, y, v)
					}
					changed = changed.Union(image.Rect(x, y, x+1, y+1))
				}
			}
			if white < 100 || black < white {
				t.Errorf("%d white and %d black pixels, want text outlined in black", white, black)
			}
			left := corner == config.TopLeft || corner == config.BottomLeft
			top := corner == config.TopLeft || corner == config.TopRight
			near := func(d int) bool { return d >= 0 && d <= 24 } // margin, outline, room below the baseline
			if (left && !near(changed.Min.X)) || (!left && !near(640-changed.Max.X)) ||
				(top && !near(changed.Min.Y)) || (!top && !near(360-changed.Max.Y)) ||
				changed.Dy() > 40 || changed.Dx() > 320 {
				t.Errorf("text drawn in %v, want a box of about 20 px high in the %s corner", changed, corner)
			}
		})
	}
}
