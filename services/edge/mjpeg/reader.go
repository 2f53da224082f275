package mjpeg

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"
)

// Part is one part of a stream as a client reads it.
type Part struct {
	CameraID    string
	ContentType string
	Seq         uint64
	CapturedAt  time.Time
	// Length is the part's Content-Length.
	Length int
	// JPEG is the part's body; nil when the part was skipped.
	JPEG []byte
}

// Reader reads the parts of a stream strictly as this package writes
// them: the Preamble, then parts whose body is exactly Content-Length
// bytes followed at once by the next boundary line. It is the one stream
// reader of camstream's tests and load client; Skip allocates nothing, so
// one process can play many viewers.
type Reader struct {
	r        *bufio.Reader
	started  bool
	cameraID string // the last camera id, reused while it repeats
	ctype    string
}

// NewReader reads the stream in r, the body of a stream response. A
// *bufio.Reader of at least 64 KiB (one the response was read from) is
// used as it is.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 64<<10)}
}

// CheckResponse reports whether resp is a stream this package writes: 200,
// multipart/x-mixed-replace with this package's boundary.
func CheckResponse(resp *http.Response) error {
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d, want 200", resp.StatusCode)
	}
	mediaType, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/x-mixed-replace" || params["boundary"] != Boundary {
		return fmt.Errorf("Content-Type %q, want %s", resp.Header.Get("Content-Type"), ContentType)
	}
	if len(resp.TransferEncoding) > 0 && resp.ProtoMajor == 1 {
		return fmt.Errorf("Transfer-Encoding %v, want none: a stream is written raw", resp.TransferEncoding)
	}
	return nil
}

// Next reads the next part with its JPEG, in a new slice. It returns
// io.EOF when the stream ended cleanly, after a whole part (the server
// closed it: the edge does when the camera was removed), and an error
// wrapping io.ErrUnexpectedEOF when it ended inside one.
func (r *Reader) Next() (Part, error) {
	p, err := r.head()
	if err != nil {
		return p, err
	}
	p.JPEG = make([]byte, p.Length)
	if _, err := io.ReadFull(r.r, p.JPEG); err != nil {
		return p, fmt.Errorf("part body: %w", noEOF(err))
	}
	return p, r.closing()
}

// Skip reads the next part's headers and discards its JPEG.
func (r *Reader) Skip() (Part, error) {
	p, err := r.head()
	if err != nil {
		return p, err
	}
	if _, err := r.r.Discard(p.Length); err != nil {
		return p, fmt.Errorf("part body: %w", noEOF(err))
	}
	return p, r.closing()
}

// head reads up to and including a part's blank line.
func (r *Reader) head() (Part, error) {
	p := Part{Length: -1}
	if !r.started {
		line, err := r.r.ReadSlice('\n')
		if err != nil {
			return p, fmt.Errorf("preamble: %w", err)
		}
		if string(line) != Preamble {
			return p, fmt.Errorf("stream starts with %q, want %q", line, Preamble)
		}
		r.started = true
	}
	for first := true; ; first = false {
		line, err := r.r.ReadSlice('\n')
		if err == io.EOF && first && len(line) == 0 {
			return p, io.EOF // between parts: the stream ended cleanly
		}
		if err != nil {
			return p, fmt.Errorf("part headers: %w", noEOF(err))
		}
		if string(line) == "\r\n" {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || !bytes.HasSuffix(value, []byte("\r\n")) {
			return p, fmt.Errorf("part header line %q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, ok := parseUint(value)
			if !ok || n > 1<<30 {
				return p, fmt.Errorf("Content-Length %q", value)
			}
			p.Length = int(n)
		case bytes.EqualFold(name, []byte("Content-Type")):
			if string(value) != r.ctype {
				r.ctype = string(value)
			}
			p.ContentType = r.ctype
		case bytes.EqualFold(name, []byte("X-Frame-Seq")):
			if p.Seq, ok = parseUint(value); !ok {
				return p, fmt.Errorf("X-Frame-Seq %q", value)
			}
		case bytes.EqualFold(name, []byte("X-Timestamp")):
			if p.CapturedAt, ok = parseTimestamp(value); !ok {
				return p, fmt.Errorf("X-Timestamp %q", value)
			}
		case bytes.EqualFold(name, []byte("X-Camera-Id")):
			if string(value) != r.cameraID {
				r.cameraID = string(value)
			}
			p.CameraID = r.cameraID
		}
	}
	if p.Length < 0 {
		return p, errors.New("part without Content-Length")
	}
	return p, nil
}

// closing reads the line break and boundary line that end every part.
func (r *Reader) closing() error {
	b, err := r.r.Peek(len(closing))
	if err != nil {
		return fmt.Errorf("after part: %w", noEOF(err))
	}
	if string(b) != closing {
		return fmt.Errorf("part body not followed by the boundary: %q", b)
	}
	_, err = r.r.Discard(len(closing))
	return err
}

// noEOF turns an EOF inside a part into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (1<<64-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// parseTimestamp parses the X-Timestamp format, "1732420000.123456".
func parseTimestamp(b []byte) (time.Time, bool) {
	whole, frac, _ := bytes.Cut(b, []byte("."))
	sec, ok := parseUint(whole)
	if !ok || sec > 1<<40 {
		return time.Time{}, false
	}
	var nsec int64
	scale := int64(1e8)
	for _, c := range frac {
		if c < '0' || c > '9' {
			return time.Time{}, false
		}
		nsec += int64(c-'0') * scale
		scale /= 10
	}
	return time.Unix(int64(sec), nsec), true
}
