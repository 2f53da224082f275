package picture

import (
	"encoding/binary"

	"gocv.io/x/gocv"
)

// turn180 turns pic (8-bit BGR) by 180° in place. A continuous picture is
// its pixels in reverse order: one pass in Go, 8 pixels (three 64-bit
// words) from each end at a time, about a quarter cheaper than OpenCV's
// flip, which swaps byte by byte through a table, then swaps the rows in
// a second pass. Any other picture goes through gocv.Flip.
func turn180(pic *gocv.Mat) {
	if pic.Type() != gocv.MatTypeCV8UC3 || pic.Step() != 3*pic.Cols() {
		gocv.Flip(*pic, pic, -1)
		return
	}
	reversePixels(pic.DataPtrUint8())
}

// reversePixels reverses the order of the 3-byte pixels of b in place.
func reversePixels(b []byte) {
	le := binary.LittleEndian
	i, j := 0, len(b)-len(b)%3
	for i+24 <= j-24 {
		front, back := b[i:i+24:i+24], b[j-24:j:j]
		f0, f1, f2 := reverse8(le.Uint64(front), le.Uint64(front[8:]), le.Uint64(front[16:]))
		b0, b1, b2 := reverse8(le.Uint64(back), le.Uint64(back[8:]), le.Uint64(back[16:]))
		le.PutUint64(front, b0)
		le.PutUint64(front[8:], b1)
		le.PutUint64(front[16:], b2)
		le.PutUint64(back, f0)
		le.PutUint64(back[8:], f1)
		le.PutUint64(back[16:], f2)
		i, j = i+24, j-24
	}
	for j -= 3; i < j; i, j = i+3, j-3 {
		x, y := b[i:i+3:i+3], b[j:j+3:j+3]
		x[0], x[1], x[2], y[0], y[1], y[2] = y[0], y[1], y[2], x[0], x[1], x[2]
	}
}

// reverse8 reverses the order of the 8 3-byte pixels held in three
// little-endian words.
func reverse8(w0, w1, w2 uint64) (uint64, uint64, uint64) {
	const px = 1<<24 - 1
	p0 := w0 & px
	p1 := w0 >> 24 & px
	p2 := (w0>>48 | w1<<16) & px
	p3 := w1 >> 8 & px
	p4 := w1 >> 32 & px
	p5 := (w1>>56 | w2<<8) & px
	p6 := w2 >> 16 & px
	p7 := w2 >> 40
	return p7 | p6<<24 | p5<<48, p5>>16 | p4<<8 | p3<<32 | p2<<56, p2>>8 | p1<<16 | p0<<40
}
