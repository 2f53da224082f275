package mjpeg

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"strconv"
	"testing"
	"time"
)

func TestAppendPartParsesAsMultipart(t *testing.T) {
	frames := []Frame{
		{CameraID: "front", Seq: 1, CapturedAt: time.Unix(1700000000, 123456000), JPEG: []byte("\xff\xd8first\xff\xd9")},
		{CameraID: "front", Seq: 2, CapturedAt: time.Unix(1700000000, 156789000), JPEG: []byte("\xff\xd8second\r\n\xff\xd9")},
		{CameraID: "yard-2", Seq: 18446744073709551615, CapturedAt: time.Unix(0, 0), JPEG: nil},
	}
	stream := []byte(Preamble)
	for _, f := range frames {
		stream = AppendPart(stream, f)
	}

	mediaType, params, err := mime.ParseMediaType(ContentType)
	if err != nil || mediaType != "multipart/x-mixed-replace" {
		t.Fatalf("ContentType %q parses as %q, %v; want multipart/x-mixed-replace", ContentType, mediaType, err)
	}
	r := multipart.NewReader(bytes.NewReader(stream), params["boundary"])
	for i, want := range frames {
		p, err := r.NextPart()
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		body, err := io.ReadAll(p)
		if err != nil {
			t.Fatalf("part %d body: %v", i, err)
		}
		if !bytes.Equal(body, want.JPEG) {
			t.Errorf("part %d body = %q, want %q", i, body, want.JPEG)
		}
		headers := map[string]string{
			"Content-Type":   "image/jpeg",
			"Content-Length": strconv.Itoa(len(want.JPEG)),
			"X-Timestamp":    string(AppendTimestamp(nil, want.CapturedAt)),
			"X-Frame-Seq":    strconv.FormatUint(want.Seq, 10),
			"X-Camera-Id":    want.CameraID,
		}
		for k, v := range headers {
			if got := p.Header.Get(k); got != v {
				t.Errorf("part %d header %s = %q, want %q", i, k, got, v)
			}
		}
	}
}

func TestAppendPartEndsWithNextBoundary(t *testing.T) {
	part := AppendPart(nil, Frame{CameraID: "a", Seq: 7, CapturedAt: time.Unix(1, 0), JPEG: []byte("JPEG")})
	want := "Content-Type: image/jpeg\r\nContent-Length: 4\r\nX-Timestamp: 1.000000\r\nX-Frame-Seq: 7\r\nX-Camera-Id: a\r\n\r\nJPEG\r\n--frame\r\n"
	if string(part) != want {
		t.Errorf("part = %q, want %q", part, want)
	}
}

func TestPartSizeIsAnUpperBound(t *testing.T) {
	f := Frame{CameraID: "camera-with-a-long-id", Seq: 1<<64 - 1, CapturedAt: time.Unix(1<<40, 999999999), JPEG: make([]byte, 123456)}
	if got, max := len(AppendPart(nil, f)), PartSize(f); got > max {
		t.Errorf("part length %d > PartSize %d", got, max)
	}
}

func TestAppendTimestamp(t *testing.T) {
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Unix(0, 0), "0.000000"},
		{time.Unix(1700000000, 5000), "1700000000.000005"},
		{time.Unix(1700000000, 999999999), "1700000000.999999"},
		{time.Unix(12, 500000000), "12.500000"},
		{time.Unix(-2, 250000000), "-2.250000"},
	}
	for _, tt := range tests {
		if got := string(AppendTimestamp(nil, tt.t)); got != tt.want {
			t.Errorf("AppendTimestamp(%v) = %q, want %q", tt.t, got, tt.want)
		}
	}
}

// BenchmarkAppendPart builds the part of a 50 KB frame (a 720p JPEG at
// quality 70) into a reused buffer: once per frame per camera.
func BenchmarkAppendPart(b *testing.B) {
	f := Frame{CameraID: "front", Seq: 1, CapturedAt: time.Now(), JPEG: make([]byte, 50<<10)}
	buf := make([]byte, 0, PartSize(f))
	b.SetBytes(int64(len(f.JPEG)))
	b.ReportAllocs()
	for b.Loop() {
		f.Seq++
		buf = AppendPart(buf[:0], f)
	}
}
