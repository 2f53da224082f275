// Package mjpeg builds the parts of a multipart/x-mixed-replace MJPEG stream.
//
// A stream is the Preamble followed by parts. Each part carries its headers,
// the JPEG, and then at once the next boundary line, so a browser shows a
// frame as soon as it arrives instead of when the next one starts
// (Chromium bug 527446). A part is built once per frame and the same bytes
// are written to every viewer.
package mjpeg

import (
	"strconv"
	"time"
)

// Boundary separates the parts of a stream.
const Boundary = "frame"

// ContentType is the response Content-Type of a stream.
const ContentType = "multipart/x-mixed-replace; boundary=" + Boundary

// Preamble opens a stream: the first boundary line, written once after the
// response headers.
const Preamble = "--" + Boundary + "\r\n"

// closing ends every part: the JPEG's line break and the next boundary line.
const closing = "\r\n--" + Boundary + "\r\n"

// Frame is what a part describes.
type Frame struct {
	CameraID   string
	Seq        uint64
	CapturedAt time.Time
	JPEG       []byte
}

// PartSize is an upper bound of the length of f's part.
func PartSize(f Frame) int {
	const headers = len("Content-Type: image/jpeg\r\nContent-Length: \r\nX-Timestamp: \r\nX-Frame-Seq: \r\nX-Camera-Id: \r\n\r\n")
	const numbers = 20 + 32 + 20 // length, timestamp, seq
	return headers + numbers + len(f.CameraID) + len(f.JPEG) + len(closing)
}

// AppendPart appends f's part to dst: its headers (Content-Type,
// Content-Length, X-Timestamp as Unix seconds with microseconds,
// X-Frame-Seq, X-Camera-Id), the JPEG and the next boundary line.
func AppendPart(dst []byte, f Frame) []byte {
	dst = append(dst, "Content-Type: image/jpeg\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(f.JPEG)), 10)
	dst = append(dst, "\r\nX-Timestamp: "...)
	dst = AppendTimestamp(dst, f.CapturedAt)
	dst = append(dst, "\r\nX-Frame-Seq: "...)
	dst = strconv.AppendUint(dst, f.Seq, 10)
	dst = append(dst, "\r\nX-Camera-Id: "...)
	dst = append(dst, f.CameraID...)
	dst = append(dst, "\r\n\r\n"...)
	dst = append(dst, f.JPEG...)
	return append(dst, closing...)
}

// AppendTimestamp appends t as Unix seconds with six decimals, the format of
// the X-Timestamp header.
func AppendTimestamp(dst []byte, t time.Time) []byte {
	us := t.UnixMicro()
	sec, frac := us/1e6, us%1e6
	if frac < 0 {
		sec, frac = sec-1, frac+1e6
	}
	dst = strconv.AppendInt(dst, sec, 10)
	dst = append(dst, '.')
	for d := int64(1e5); d > 0; d /= 10 {
		dst = append(dst, byte('0'+frac/d%10))
	}
	return dst
}
