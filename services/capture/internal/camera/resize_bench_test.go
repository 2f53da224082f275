package camera

import (
	"image"
	"image/color"
	"testing"

	"gocv.io/x/gocv"
)

// BenchmarkSmallSize: what a 320-px size costs per 720p frame: OpenCV's
// area and bilinear resizes against shrink (the one the loop uses), and the
// JPEG encode at 320 and at 1280 px.
func BenchmarkSmallSize(b *testing.B) {
	src := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(40, 90, 200, 0), 720, 1280, gocv.MatTypeCV8UC3)
	defer src.Close()
	gocv.Circle(&src, image.Pt(600, 300), 200, color.RGBA{255, 255, 255, 0}, -1) // texture
	dst := gocv.NewMat()
	defer dst.Close()
	params := []int{gocv.IMWriteJpegQuality, 70}
	for _, tc := range []struct {
		name   string
		interp gocv.InterpolationFlags
	}{{"area", gocv.InterpolationArea}, {"linear", gocv.InterpolationLinear}} {
		b.Run(tc.name+"/resize", func(b *testing.B) {
			for b.Loop() {
				gocv.Resize(src, &dst, image.Pt(320, 180), 0, 0, tc.interp)
			}
		})
	}
	scratch := gocv.NewMat()
	defer scratch.Close()
	b.Run("halving/resize", func(b *testing.B) {
		for b.Loop() {
			shrink(src, &dst, &scratch, 320, 180)
		}
	})
	b.Run("encode320", func(b *testing.B) {
		for b.Loop() {
			if _, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, dst, params); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode1280", func(b *testing.B) {
		for b.Loop() {
			if _, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, src, params); err != nil {
				b.Fatal(err)
			}
		}
	})
}
