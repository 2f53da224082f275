package picture

import (
	"image"
	"unsafe"

	"gocv.io/x/gocv"
)

// views are regions of one picture (views into its pixels, no copy),
// built once and kept from frame to frame while the picture's pixels stay
// at the same address and size, as a capture loop's reused Mat does.
type views struct {
	base uintptr
	size image.Point
	mats []gocv.Mat
	ok   bool
}

// of returns the regions rects of pic, in order.
func (v *views) of(pic gocv.Mat, rects []image.Rectangle) []gocv.Mat {
	base := uintptr(unsafe.Pointer(unsafe.SliceData(pic.DataPtrUint8())))
	size := image.Pt(pic.Cols(), pic.Rows())
	if v.ok && base == v.base && size == v.size {
		return v.mats
	}
	v.close()
	for _, r := range rects {
		v.mats = append(v.mats, pic.Region(r))
	}
	v.base, v.size, v.ok = base, size, true
	return v.mats
}

func (v *views) close() {
	for _, m := range v.mats {
		m.Close()
	}
	v.mats, v.ok = v.mats[:0], false
}
