// Package jpegsof reads a JPEG's picture size from its frame header (the
// SOF marker) without decoding it, and checks that the bytes are one whole
// JPEG: start of image, a frame header, a scan, end of image. Capture
// forwards a camera's own JPEG frames only when they pass this check.
package jpegsof

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Info is what a JPEG's headers say about its picture.
type Info struct {
	Width, Height int
	// Components is 1 for grey, 3 for colour (YCbCr), 4 for CMYK.
	Components int
	// Scan is the offset of the first scan's entropy-coded data, just
	// after its SOS header.
	Scan int
}

// Markers (ITU T.81, table B.1).
const (
	markSOI = 0xD8
	markEOI = 0xD9
	markSOS = 0xDA
	markTEM = 0x01
	markDHT = 0xC4
	markJPG = 0xC8
	markDAC = 0xCC
)

// ErrNotJPEG is returned (wrapped) for bytes that are not one whole JPEG.
var ErrNotJPEG = errors.New("not a whole JPEG")

// Parse reads the headers of the JPEG in b up to its first scan and checks
// that b ends with the end-of-image marker.
func Parse(b []byte) (Info, error) {
	if len(b) < 4 || b[0] != 0xFF || b[1] != markSOI {
		return Info{}, fmt.Errorf("%w: no start-of-image marker", ErrNotJPEG)
	}
	if b[len(b)-2] != 0xFF || b[len(b)-1] != markEOI {
		return Info{}, fmt.Errorf("%w: no end-of-image marker at the end (%d bytes)", ErrNotJPEG, len(b))
	}
	var info Info
	for pos := 2; ; {
		m, next, err := marker(b, pos)
		if err != nil {
			return Info{}, err
		}
		if isStandalone(m) {
			pos = next
			continue
		}
		if m == markEOI {
			return Info{}, fmt.Errorf("%w: end of image before any scan", ErrNotJPEG)
		}
		if next+2 > len(b) {
			return Info{}, fmt.Errorf("%w: marker 0x%02X cut off", ErrNotJPEG, m)
		}
		n := int(binary.BigEndian.Uint16(b[next:]))
		end := next + n
		if n < 2 || end > len(b) {
			return Info{}, fmt.Errorf("%w: marker 0x%02X has a bad length %d", ErrNotJPEG, m, n)
		}
		seg := b[next+2 : end]
		switch {
		case isSOF(m):
			if info.Width != 0 {
				return Info{}, fmt.Errorf("%w: two frame headers", ErrNotJPEG)
			}
			if info, err = frameHeader(seg); err != nil {
				return Info{}, err
			}
		case m == markSOS:
			if info.Width == 0 {
				return Info{}, fmt.Errorf("%w: scan before the frame header", ErrNotJPEG)
			}
			info.Scan = end
			return info, nil
		}
		pos = end
	}
}

// marker returns the marker at pos (after any fill bytes) and the offset
// just past it.
func marker(b []byte, pos int) (m byte, next int, err error) {
	if pos >= len(b) || b[pos] != 0xFF {
		return 0, 0, fmt.Errorf("%w: no marker at offset %d", ErrNotJPEG, pos)
	}
	for pos < len(b) && b[pos] == 0xFF {
		pos++ // fill bytes may precede any marker
	}
	if pos >= len(b) || b[pos] == 0 {
		return 0, 0, fmt.Errorf("%w: no marker at offset %d", ErrNotJPEG, pos)
	}
	return b[pos], pos + 1, nil
}

// frameHeader reads a SOF segment (without its length field).
func frameHeader(seg []byte) (Info, error) {
	if len(seg) < 6 {
		return Info{}, fmt.Errorf("%w: frame header too short", ErrNotJPEG)
	}
	info := Info{
		Height:     int(binary.BigEndian.Uint16(seg[1:])),
		Width:      int(binary.BigEndian.Uint16(seg[3:])),
		Components: int(seg[5]),
	}
	switch {
	case info.Width == 0 || info.Height == 0:
		// A height of 0 is given later by a DNL marker: rare, and a size
		// capture cannot know before the picture's end.
		return Info{}, fmt.Errorf("%w: frame size %dx%d", ErrNotJPEG, info.Width, info.Height)
	case info.Components == 0 || len(seg) < 6+3*info.Components:
		return Info{}, fmt.Errorf("%w: frame header names %d components in %d bytes", ErrNotJPEG, info.Components, len(seg))
	}
	return info, nil
}

// isSOF reports whether m starts a frame: SOF0..SOF15 except DHT, JPG and DAC.
func isSOF(m byte) bool {
	return m >= 0xC0 && m <= 0xCF && m != markDHT && m != markJPG && m != markDAC
}

// isStandalone reports whether m has no length field: TEM and RST0..7.
func isStandalone(m byte) bool {
	return m == markTEM || (m >= 0xD0 && m <= 0xD7)
}
