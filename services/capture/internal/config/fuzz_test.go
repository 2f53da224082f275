package config

import (
	"math"
	"os"
	"regexp"
	"strings"
	"testing"
)

// fuzzSecret is the only value of the environment the fuzzed files see.
const fuzzSecret = "s3cr3t-Pw9"

var fuzzIDPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// FuzzParse feeds any bytes to the camera-file parser: it returns cameras
// that keep every documented bound, or a one-line error; it never panics
// and never shows the password that ${VAR} or ${file:PATH} expansion put in
// a source.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"",
		"cameras: []",
		"cameras:\n  - id: a\n    source: test://ball\n",
		"cameras:\n  - id: front\n    name: Front\n    source: rtsp://u:${PASS}@10.0.0.5:554/s\n    fps: 15\n    width: 1280\n    quality: 80\n    on_demand: true\n    idle_timeout: 10s\n",
		"cameras:\n  - id: a\n    source: rtsp://u:${PASS}@/s\n",
		"cameras:\n  - id: a\n    source: file:/videos/a.mp4\n  - id: a\n    source: device:0\n",
		"cameras:\n  - id: a\n    source: http://h/mjpg\n    fps: .inf\n",
		"cameras:\n  - id: a\n    source: test://\n    fps: .nan\n",
		"cameras:\n  - id: a\n    source: test://\n    width: -1\n    quality: 1000\n",
		"cameras:\n  - id: a\n    source: rtsp://${PASS}@h/s\n",
		"cameras:\n  - id: a\n    source: rtsp://u:${file:/run/secrets/pass}@/s\n",
		"cameras:\n  - id: a\n    source: rtsp://u:${file:run/secrets/pass}@h/s\n",
		"cameras:\n  - id: a\n    source: rtsp://u:${PASS@h/s\n",
		"cameras: &x\n  - *x\n",
		"cameras:\n  - id: a\n    source: test://\n    idle_timeout: 99999999999h\n",
		"cameras:\n  - {id: a, source: 'rtsp://u:p@h:99999/s'}\n",
		"\t- cameras",
	} {
		f.Add([]byte(seed))
	}
	getenv := Env{
		Getenv: func(name string) string {
			if name == "PASS" {
				return fuzzSecret
			}
			return ""
		},
		ReadFile: func(path string) ([]byte, error) {
			if path == "/run/secrets/pass" {
				return []byte(fuzzSecret + "\n"), nil
			}
			return nil, os.ErrNotExist
		},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// The password counts as one where it ends up as a URL's user
		// information (followed by '@'); elsewhere it is just text.
		expanded, _ := Expand(string(data), getenv)
		secret := strings.Contains(expanded, fuzzSecret+"@")
		cams, err := Parse(data, getenv)
		if err != nil {
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error %q has more than one line", msg)
			}
			if secret && strings.Contains(msg, fuzzSecret) {
				t.Errorf("error %q shows the password", msg)
			}
			return
		}
		if len(cams) == 0 {
			t.Fatalf("Parse returned no cameras and no error")
		}
		seen := make(map[string]bool)
		for _, c := range cams {
			if !fuzzIDPattern.MatchString(c.ID) || len(c.ID) > maxIDLength || seen[c.ID] {
				t.Errorf("camera id %q: invalid, too long or repeated", c.ID)
			}
			seen[c.ID] = true
			if c.FPS < 0 || c.FPS > MaxFPS || math.IsNaN(c.FPS) {
				t.Errorf("camera %q: fps %v out of range", c.ID, c.FPS)
			}
			if c.Width != 0 && (c.Width < MinWidth || c.Width > MaxWidth) {
				t.Errorf("camera %q: width %d out of range", c.ID, c.Width)
			}
			if c.Quality < 1 || c.Quality > 100 {
				t.Errorf("camera %q: quality %d out of range", c.ID, c.Quality)
			}
			if c.IdleTimeout < 0 {
				t.Errorf("camera %q: negative idle timeout %v", c.ID, c.IdleTimeout)
			}
			if s := c.Source.String(); secret && strings.Contains(s, fuzzSecret) {
				t.Errorf("camera %q: redacted source %q shows the password", c.ID, s)
			}
		}
	})
}
