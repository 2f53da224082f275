package jpegsof

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"testing"
)

// encode returns a real JPEG of a w×h picture, as Go's encoder writes it.
func encode(t testing.TB, w, h int, grey bool) []byte {
	t.Helper()
	var img image.Image = image.NewRGBA(image.Rect(0, 0, w, h))
	if grey {
		img = image.NewGray(image.Rect(0, 0, w, h))
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withSegment inserts a marker segment (or a standalone marker when body
// is nil) right after the start-of-image marker of j.
func withSegment(j []byte, m byte, body []byte) []byte {
	out := append([]byte{}, j[:2]...)
	out = append(out, 0xFF, m)
	if body != nil {
		n := len(body) + 2
		out = append(out, byte(n>>8), byte(n))
		out = append(out, body...)
	}
	return append(out, j[2:]...)
}

func TestParse(t *testing.T) {
	colour := encode(t, 800, 600, false)
	grey := encode(t, 33, 17, true)
	sof := bytes.Index(colour, []byte{0xFF, 0xC0})
	tests := []struct {
		name       string
		in         []byte
		w, h, comp int
		wantErr    bool
	}{
		{name: "colour", in: colour, w: 800, h: 600, comp: 3},
		{name: "grey odd size", in: grey, w: 33, h: 17, comp: 1},
		{name: "fill bytes and APP segment", in: withSegment(colour, 0xE0, []byte("JFIF\x00\x01\x02")), w: 800, h: 600, comp: 3},
		{name: "standalone marker", in: withSegment(colour, 0xD3, nil), w: 800, h: 600, comp: 3},
		{name: "empty", in: nil, wantErr: true},
		{name: "not a JPEG", in: []byte("\x89PNG\r\n\x1a\n0000"), wantErr: true},
		{name: "no end of image", in: colour[:len(colour)-2], wantErr: true},
		{name: "cut in the headers", in: append(append([]byte{}, colour[:sof+4]...), 0xFF, 0xD9), wantErr: true},
		{name: "header only", in: []byte{0xFF, 0xD8, 0xFF, 0xD9}, wantErr: true},
		{name: "two frame headers", in: withSegment(colour, 0xC0, colour[sof+4:sof+4+15]), wantErr: true},
		{name: "zero height (DNL)", in: zeroHeight(colour, sof), wantErr: true},
		{name: "H.264 access unit", in: []byte{0, 0, 0, 1, 0x67, 0x42, 0, 0x1e, 0xFF, 0xD9}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrNotJPEG) {
					t.Fatalf("Parse = %+v, %v; want an ErrNotJPEG", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got.Width != tt.w || got.Height != tt.h || got.Components != tt.comp {
				t.Errorf("Parse = %dx%d, %d components; want %dx%d, %d", got.Width, got.Height, got.Components, tt.w, tt.h, tt.comp)
			}
			sos := bytes.LastIndex(tt.in[:got.Scan], []byte{0xFF, 0xDA})
			if sos < 0 || got.Scan <= sos || got.Scan >= len(tt.in) {
				t.Errorf("Scan = %d, SOS marker at %d of %d bytes", got.Scan, sos, len(tt.in))
			}
		})
	}
}

func zeroHeight(j []byte, sof int) []byte {
	out := append([]byte{}, j...)
	out[sof+5], out[sof+6] = 0, 0
	return out
}

// FuzzParse: any bytes give an error or a plausible size, never a panic;
// a JPEG that Go's decoder reads has the size Parse reports.
func FuzzParse(f *testing.F) {
	f.Add(encode(f, 16, 8, false))
	f.Add(encode(f, 1, 1, true))
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xD9})
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x02, 0xFF, 0xD9})
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrNotJPEG) {
				t.Fatalf("error %v is not an ErrNotJPEG", err)
			}
			return
		}
		if info.Width <= 0 || info.Height <= 0 || info.Scan <= 0 || info.Scan > len(b) {
			t.Fatalf("Parse(%d bytes) = %+v", len(b), info)
		}
		if cfg, err := jpeg.DecodeConfig(bytes.NewReader(b)); err == nil &&
			cfg.ColorModel != color.CMYKModel && (cfg.Width != info.Width || cfg.Height != info.Height) {
			t.Fatalf("Parse = %dx%d, image/jpeg reads %dx%d", info.Width, info.Height, cfg.Width, cfg.Height)
		}
	})
}
