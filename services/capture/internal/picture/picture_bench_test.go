package picture

import (
	"image"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/camstream/camstream/services/capture/internal/config"
)

// BenchmarkApply: one 1280×720 frame through each control alone and
// through the benchmark camera's set (rotate 180, two masks, an overlay).
func BenchmarkApply(b *testing.B) {
	poly := config.Mask{Points: []image.Point{{900, 500}, {1200, 520}, {1100, 700}}}
	overlay := config.Overlay{Text: "{name} %Y-%m-%d %H:%M:%S", Corner: config.BottomRight}
	for _, bc := range []struct {
		name string
		c    config.Controls
	}{
		{"none", config.Controls{}},
		{"rotate180", config.Controls{Rotate: 180}},
		{"rotate90", config.Controls{Rotate: 90}},
		{"flip-horizontal", config.Controls{Flip: config.FlipHorizontal}},
		{"flip-vertical", config.Controls{Flip: config.FlipVertical}},
		{"crop", config.Controls{Crop: image.Rect(0, 40, 1280, 680)}},
		{"mask", config.Controls{Masks: []config.Mask{{Rect: image.Rect(40, 40, 360, 220)}}}},
		{"polygon", config.Controls{Masks: []config.Mask{poly}}},
		{"overlay", config.Controls{Overlay: overlay}},
		{"all", config.Controls{Rotate: 180, Masks: []config.Mask{{Rect: image.Rect(40, 40, 360, 220)}, poly}, Overlay: overlay}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			src := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(40, 80, 120, 0), 720, 1280, gocv.MatTypeCV8UC3)
			defer src.Close()
			p := New(config.Camera{ID: "bench", Name: "Bench camera", Controls: bc.c})
			defer p.Close()
			now := time.Now()
			for b.Loop() {
				if _, err := p.Apply(src, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
