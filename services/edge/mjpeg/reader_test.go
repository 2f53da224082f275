package mjpeg

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
)

// The reader gives back exactly what AppendPart wrote, a JPEG that holds
// a boundary-like line included.
func TestReaderReadsAppendedParts(t *testing.T) {
	frames := []Frame{
		{CameraID: "front", Seq: 1, CapturedAt: time.Unix(1700000000, 123456000), JPEG: []byte("\xff\xd8first\xff\xd9")},
		{CameraID: "front", Seq: 2, CapturedAt: time.Unix(1700000000, 156789000), JPEG: []byte("\xff\xd8\r\n--frame\r\n\xff\xd9")},
		{CameraID: "yard-2", Seq: 1<<64 - 1, CapturedAt: time.Unix(0, 0), JPEG: []byte{}},
	}
	stream := []byte(Preamble)
	for _, f := range frames {
		stream = AppendPart(stream, f)
	}
	for _, skip := range []bool{false, true} {
		r := NewReader(bytes.NewReader(stream))
		for i, want := range frames {
			read := r.Next
			if skip {
				read = r.Skip
			}
			p, err := read()
			if err != nil {
				t.Fatalf("skip=%v part %d: %v", skip, i, err)
			}
			if p.CameraID != want.CameraID || p.Seq != want.Seq || !p.CapturedAt.Equal(want.CapturedAt) ||
				p.Length != len(want.JPEG) || p.ContentType != "image/jpeg" {
				t.Errorf("skip=%v part %d = %+v, want %+v", skip, i, p, want)
			}
			if wantJPEG := want.JPEG; skip {
				if p.JPEG != nil {
					t.Errorf("skipped part %d has a body", i)
				}
			} else if !bytes.Equal(p.JPEG, wantJPEG) {
				t.Errorf("part %d body = %q, want %q", i, p.JPEG, wantJPEG)
			}
		}
		if _, err := r.Next(); err != io.EOF {
			t.Errorf("skip=%v: read past the last part: err %v, want io.EOF", skip, err)
		}
	}
}

func TestReaderRefusesMalformedStreams(t *testing.T) {
	frame := Frame{CameraID: "a", Seq: 7, CapturedAt: time.Unix(1, 0), JPEG: []byte("JPEG")}
	good := string(AppendPart(AppendPart([]byte(Preamble), frame), frame))
	one := string(AppendPart([]byte(Preamble), frame))
	tests := []struct {
		name, stream, want string
	}{
		{"no preamble", strings.TrimPrefix(good, Preamble), "stream starts with"},
		{"other boundary", strings.Replace(good, "--frame", "--other", 1), "stream starts with"},
		{"length too short", strings.Replace(good, "Content-Length: 4", "Content-Length: 3", 1), "not followed by the boundary"},
		{"length too long", strings.Replace(good, "Content-Length: 4", "Content-Length: 5", 1), "not followed by the boundary"},
		{"no length", strings.Replace(good, "Content-Length: 4\r\n", "", 1), "without Content-Length"},
		{"bad length", strings.Replace(good, "Content-Length: 4", "Content-Length: -4", 1), "Content-Length"},
		{"bad seq", strings.Replace(good, "X-Frame-Seq: 7", "X-Frame-Seq: 7x", 1), "X-Frame-Seq"},
		{"bad timestamp", strings.Replace(good, "X-Timestamp: 1.000000", "X-Timestamp: 1.0e3", 1), "X-Timestamp"},
		{"bare line feed", strings.Replace(good, "X-Frame-Seq: 7\r\n", "X-Frame-Seq: 7\n", 1), "header line"},
		{"cut in the body", good[:len(Preamble)+strings.Index(good[len(Preamble):], "JPEG")+2], "unexpected EOF"},
		{"cut in the headers", good[:len(good)/2], "unexpected EOF"},
		{"cut in the boundary", one[:len(one)-3], "unexpected EOF"},
	}
	for _, tt := range tests {
		_, err := NewReader(strings.NewReader(tt.stream)).Next()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want one saying %q", tt.name, err, tt.want)
		}
	}
}

// BenchmarkReaderSkip reads 50 KB parts the way the load client does:
// no allocation per part.
func BenchmarkReaderSkip(b *testing.B) {
	part := AppendPart(nil, Frame{CameraID: "front", Seq: 1, CapturedAt: time.Now(), JPEG: make([]byte, 50<<10)})
	src := &repeater{head: []byte(Preamble), part: part}
	r := NewReader(src)
	b.SetBytes(int64(len(part)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Skip(); err != nil {
			b.Fatal(err)
		}
	}
}

// repeater is a stream of the same part forever.
type repeater struct {
	head, part []byte
	off        int
}

func (r *repeater) Read(p []byte) (int, error) {
	if len(r.head) > 0 {
		n := copy(p, r.head)
		r.head = r.head[n:]
		return n, nil
	}
	n := copy(p, r.part[r.off:])
	r.off = (r.off + n) % len(r.part)
	return n, nil
}

func TestParseTimestamp(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"1732420000.123456", time.Unix(1732420000, 123456000), true},
		{"1732420000", time.Unix(1732420000, 0), true},
		{"5.5", time.Unix(5, 500000000), true},
		{"5.", time.Unix(5, 0), true},
		{"", time.Time{}, false},
		{"-2.250000", time.Time{}, false},
		{"1e9", time.Time{}, false},
		{"1.2.3", time.Time{}, false},
	} {
		got, ok := parseTimestamp([]byte(tc.in))
		if ok != tc.ok || !got.Equal(tc.want) {
			t.Errorf("parseTimestamp(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
