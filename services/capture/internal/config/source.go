package config

import (
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"

	"github.com/camstream/camstream/services/capture/internal/redact"
)

// Kind is the sort of input a camera reads.
type Kind int

const (
	// KindURL is a network stream opened through FFmpeg: rtsp://, rtsps://,
	// http:// or https:// (MJPEG cameras).
	KindURL Kind = iota + 1
	// KindFile is a video file played in a loop at its own frame rate.
	KindFile
	// KindDevice is a local V4L2 device, /dev/videoN.
	KindDevice
	// KindTest is the built-in moving test pattern.
	KindTest
)

// Test patterns a test:// source can draw.
const (
	PatternBall  = "ball"
	PatternSMPTE = "smpte"
)

// Source is a parsed camera source. Its String, LogValue and MarshalText
// methods print it redacted, so it is safe to log or return as it is; only
// Raw gives the credentials, for opening the stream.
type Source struct {
	Kind    Kind
	raw     string
	Path    string // KindFile
	Device  int    // KindDevice
	Pattern string // KindTest
}

// ParseSource parses a source as written in the camera file:
// rtsp://, rtsps://, http://, https://, file:PATH, device:N or test://[ball|smpte].
func ParseSource(s string) (Source, error) {
	src := Source{raw: s}
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || scheme == "" {
		return Source{}, fmt.Errorf("%q has no scheme: want rtsp://, rtsps://, http://, https://, file:PATH, device:N or test://", redact.Source(s))
	}
	switch strings.ToLower(scheme) {
	case "rtsp", "rtsps", "http", "https":
		u, err := url.Parse(s)
		if err != nil || u.Host == "" || !strings.HasPrefix(rest, "//") {
			return Source{}, fmt.Errorf("%q is not a valid %s URL (percent-encode special characters in the user and password)", redact.Source(s), scheme)
		}
		src.Kind = KindURL
	case "file":
		src.Kind, src.Path = KindFile, strings.TrimPrefix(rest, "//")
		if src.Path == "" {
			return Source{}, fmt.Errorf("%q names no file: want file:/path/to/video.mp4", redact.Source(s))
		}
	case "device":
		n, err := strconv.Atoi(rest)
		if err != nil || n < 0 {
			return Source{}, fmt.Errorf("%q: want device:N with N the number of /dev/videoN", redact.Source(s))
		}
		src.Kind, src.Device = KindDevice, n
	case "test":
		pattern, ok := strings.CutPrefix(rest, "//")
		if !ok {
			return Source{}, fmt.Errorf("%q: want test://, test://ball or test://smpte", redact.Source(s))
		}
		switch pattern {
		case "", PatternBall:
			pattern = PatternBall
		case PatternSMPTE:
		default:
			return Source{}, fmt.Errorf("%q: unknown test pattern %q, want ball or smpte", redact.Source(s), pattern)
		}
		src.Kind, src.Pattern = KindTest, pattern
	default:
		// The scheme as the redacted source shows it: in a source without
		// one ("user:pass@host"), what precedes the first colon may be a
		// user name or a password.
		shown, _, _ := strings.Cut(redact.Source(s), ":")
		return Source{}, fmt.Errorf("%q: unknown scheme %q, want rtsp, rtsps, http, https, file, device or test", redact.Source(s), shown)
	}
	return src, nil
}

// Raw returns the source exactly as configured, credentials included. Use
// it only to open the stream; print the Source itself.
func (s Source) Raw() string { return s.raw }

// String returns the source with its credentials masked.
func (s Source) String() string { return redact.Source(s.raw) }

// LogValue makes slog print the source redacted.
func (s Source) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText makes encoders print the source redacted.
func (s Source) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// subSource parses the camera's optional sub_source: a stream of the same
// camera at a lower resolution, so a network stream, a file or a test
// pattern; never the main source again.
func (fc fileCamera) subSource(env Env, mainRaw string) (Source, error) {
	raw, err := Expand(fc.SubSource, env)
	if err != nil {
		return Source{}, fmt.Errorf("sub_source: %w", err)
	}
	if raw == "" {
		return Source{}, nil
	}
	sub, err := ParseSource(raw)
	if err != nil {
		return Source{}, fmt.Errorf("sub_source: %w", err)
	}
	if sub.Kind == KindDevice {
		return Source{}, fmt.Errorf("sub_source: %s: a device has no second stream; want the camera's lower-resolution stream URL", sub)
	}
	if raw == mainRaw {
		return Source{}, fmt.Errorf("sub_source: %s is the source itself; want the camera's lower-resolution stream (often /stream2 or subtype=1)", sub)
	}
	return sub, nil
}

// IsZero reports whether no source is set (an absent sub_source).
func (s Source) IsZero() bool { return s.Kind == 0 }
