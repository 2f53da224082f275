package config

import (
	"image"
	"image/color"
	"math"
	"testing"
)

func TestControlsScaled(t *testing.T) {
	red := color.RGBA{R: 255, A: 255}
	full, half, third := image.Pt(1280, 720), image.Pt(640, 360), image.Pt(640, 240)
	rect := func(x0, y0, x1, y1 int) Mask { return Mask{Rect: image.Rect(x0, y0, x1, y1), Color: red} }
	tests := []struct {
		name     string
		c        Controls
		from, to image.Point
		want     Controls
	}{
		{"same size", Controls{Rotate: 90, Masks: []Mask{rect(3, 5, 10, 8)}}, full, full,
			Controls{Rotate: 90, Masks: []Mask{rect(3, 5, 10, 8)}}},
		{"mask rounded outwards", Controls{Rotate: 180, Flip: FlipHorizontal, Masks: []Mask{rect(3, 5, 10, 8)}}, full, half,
			Controls{Rotate: 180, Flip: FlipHorizontal, Masks: []Mask{rect(1, 2, 5, 4)}}},
		{"a third", Controls{Masks: []Mask{rect(10, 10, 20, 20)}}, image.Pt(1920, 720), third,
			Controls{Masks: []Mask{rect(3, 3, 7, 7)}}},
		{"crop rounded inwards, mask in its pixels", Controls{Crop: image.Rect(3, 3, 101, 51), Masks: []Mask{rect(1, 1, 5, 5)}}, full, half,
			Controls{Crop: image.Rect(2, 2, 50, 25), Masks: []Mask{rect(0, 0, 2, 2)}}},
		{"mask to the crop's edge is clipped to it", Controls{Crop: image.Rect(1, 1, 11, 11), Masks: []Mask{rect(0, 0, 10, 10)}}, full, half,
			Controls{Crop: image.Rect(1, 1, 5, 5), Masks: []Mask{rect(0, 0, 4, 4)}}},
		{"whole picture", Controls{Crop: image.Rect(0, 0, 1280, 720), Masks: []Mask{rect(0, 0, 1280, 720)}}, full, half,
			Controls{Crop: image.Rect(0, 0, 640, 360), Masks: []Mask{rect(0, 0, 640, 360)}}},
		{"polygon away from its centre", Controls{Masks: []Mask{{Points: []image.Point{{10, 10}, {30, 10}, {20, 31}}, Color: red}}}, full, half,
			Controls{Masks: []Mask{{Points: []image.Point{{5, 5}, {15, 5}, {10, 16}}, Color: red}}}},
		{"polygon at the edge stays in", Controls{Masks: []Mask{{Points: []image.Point{{0, 0}, {1279, 0}, {1279, 719}}, Color: red}}}, full, half,
			Controls{Masks: []Mask{{Points: []image.Point{{0, 0}, {639, 0}, {639, 359}}, Color: red}}}},
		{"overlay size", Controls{Overlay: Overlay{Text: "x", Corner: TopLeft, Size: 20}}, full, half,
			Controls{Overlay: Overlay{Text: "x", Corner: TopLeft, Size: 10}}},
		{"overlay readable", Controls{Overlay: Overlay{Text: "x", Corner: TopLeft, Size: 10}}, full, half,
			Controls{Overlay: Overlay{Text: "x", Corner: TopLeft, Size: MinOverlaySize}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.Scaled(tt.from, tt.to); !got.Equal(tt.want) {
				t.Errorf("Scaled(%v, %v) = %+v, want %+v", tt.from, tt.to, got, tt.want)
			}
		})
	}
}

// Every scaled rectangle mask covers the whole scaled area of the
// original, inside the picture, and a scaled crop stays in it and in the
// scaled area of the original crop.
func TestControlsScaledCovers(t *testing.T) {
	from := image.Pt(1280, 720)
	for _, to := range []image.Point{{640, 360}, {704, 396}, {426, 240}, {320, 180}, {1920, 1080}} {
		kx, ky := float64(to.X)/float64(from.X), float64(to.Y)/float64(from.Y)
		for x := 0; x < 40; x += 3 {
			for w := 1; w < 30; w += 4 {
				m := Mask{Rect: image.Rect(x, x/2, x+w, x/2+w+1)}
				got := Controls{Masks: []Mask{m}}.Scaled(from, to).Masks[0].Rect
				area := [4]float64{float64(m.Rect.Min.X) * kx, float64(m.Rect.Min.Y) * ky, float64(m.Rect.Max.X) * kx, float64(m.Rect.Max.Y) * ky}
				if float64(got.Min.X) > area[0] || float64(got.Min.Y) > area[1] ||
					float64(got.Max.X) < area[2]-1e-9 || float64(got.Max.Y) < area[3]-1e-9 {
					t.Errorf("%v→%v: mask %v scaled to %v, which does not cover %v", from, to, m.Rect, got, area)
				}
				if got.Min.X > int(math.Floor(area[0])) || got.Empty() {
					t.Errorf("%v→%v: mask %v scaled to %v, want its start rounded down", from, to, m.Rect, got)
				}
				crop := Controls{Crop: m.Rect}.Scaled(from, to).Crop
				if !crop.In(image.Rectangle{Max: to}) || crop.Empty() ||
					(crop.Dx() > 1 && (float64(crop.Min.X) < area[0]-1e-9 || float64(crop.Max.X) > area[2]+1e-9)) ||
					(crop.Dx() == 1 && (float64(crop.Max.X) < area[0] || float64(crop.Min.X) > area[2])) {
					t.Errorf("%v→%v: crop %v scaled to %v, want it inside %v and the picture", from, to, m.Rect, crop, area)
				}
			}
		}
	}
}
