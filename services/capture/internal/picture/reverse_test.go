package picture

import (
	"bytes"
	"image"
	"math/rand/v2"
	"testing"

	"gocv.io/x/gocv"
)

// turn180 gives what OpenCV's flip around both axes gives, for pictures
// of every width remainder and for a picture that is a view (not
// continuous, so OpenCV's flip).
func TestTurn180MatchesOpenCV(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range [][2]int{{1, 1}, {1, 2}, {3, 5}, {7, 9}, {16, 17}, {33, 31}, {360, 640}} {
		h, w := size[0], size[1]
		data := make([]byte, h*w*3)
		for i := range data {
			data[i] = byte(rng.UintN(256))
		}
		tmp, err := gocv.NewMatFromBytes(h, w, gocv.MatTypeCV8UC3, data)
		if err != nil {
			t.Fatal(err)
		}
		pic := tmp.Clone() // in OpenCV's memory
		tmp.Close()
		want := gocv.NewMat()
		gocv.Flip(pic, &want, -1)
		turn180(&pic)
		if !bytes.Equal(pic.ToBytes(), want.ToBytes()) {
			t.Errorf("%d×%d: turn180 differs from OpenCV's flip", w, h)
		}
		view := want.Region(image.Rect(0, 0, max(w-1, 1), h))
		viewWant := gocv.NewMat()
		gocv.Flip(view, &viewWant, -1)
		turn180(&view)
		if !bytes.Equal(pixels(view), viewWant.ToBytes()) {
			t.Errorf("%d×%d view: turn180 differs from OpenCV's flip", w-1, h)
		}
		for _, m := range []gocv.Mat{pic, want, view, viewWant} {
			m.Close()
		}
	}
}

// pixels are m's pixels row after row (a view's rows are not contiguous).
func pixels(m gocv.Mat) []byte {
	c := m.Clone()
	defer c.Close()
	return c.ToBytes()
}
