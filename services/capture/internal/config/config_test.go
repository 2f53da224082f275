package config

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(vars map[string]string) Env {
	return Env{Getenv: func(k string) string { return vars[k] }}
}

func TestParseValid(t *testing.T) {
	const file = `
cameras:
  - id: front
    name: Front door
    source: rtsp://${FRONT_USER}:${FRONT_PASS}@10.0.0.5:554/stream1
    fps: 15
    width: 1280
    quality: 70
    on_demand: true
    idle_timeout: 30s
  - id: garage-2
    source: test://smpte
  - id: lobby
    source: http://cam.local/mjpg?user=admin&pwd=${LOBBY_PASS}
  - id: usb
    source: device:0
  - id: loop
    source: file:/videos/a.mp4
`
	cams, err := Parse([]byte(file), env(map[string]string{"FRONT_USER": "admin", "FRONT_PASS": "p4ss", "LOBBY_PASS": "x"}))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(cams) != 5 {
		t.Fatalf("got %d cameras, want 5", len(cams))
	}
	front := cams[0]
	want := Camera{ID: "front", Name: "Front door", FPS: 15, Width: 1280, Quality: 70, QualitySet: true, OnDemand: true, IdleTimeout: 30 * time.Second}
	front.Source = Source{}
	if !front.Equal(want) {
		t.Errorf("front = %+v, want %+v", front, want)
	}
	if got, want := cams[0].Source.Raw(), "rtsp://admin:p4ss@10.0.0.5:554/stream1"; got != want {
		t.Errorf("front source raw = %q, want %q", got, want)
	}
	if got, want := cams[0].Source.String(), "rtsp://***@10.0.0.5:554/stream1"; got != want {
		t.Errorf("front source printed = %q, want %q", got, want)
	}
	g := cams[1]
	if g.Name != "garage-2" || g.Quality != DefaultQuality || g.IdleTimeout != DefaultIdleTimeout || g.OnDemand {
		t.Errorf("garage-2 defaults = %+v, want name=id, quality %d, idle %v, not on demand", g, DefaultQuality, DefaultIdleTimeout)
	}
	if g.Source.Kind != KindTest || g.Source.Pattern != PatternSMPTE {
		t.Errorf("garage-2 source = %+v, want test pattern smpte", g.Source)
	}
	if got := cams[3].Source; got.Kind != KindDevice || got.Device != 0 {
		t.Errorf("usb source = %+v, want device 0", got)
	}
	if got := cams[4].Source; got.Kind != KindFile || got.Path != "/videos/a.mp4" {
		t.Errorf("loop source = %+v, want file /videos/a.mp4", got)
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name, file string
		want       string // every error must contain this
	}{
		{"empty file", "", "no cameras"},
		{"no cameras", "cameras: []", "no cameras"},
		{"malformed yaml", "cameras:\n  - id: a\n   source: [", "not a valid camera file"},
		{"unknown field", "cameras:\n  - id: a\n    source: test://\n    fsp: 3", "field fsp not found"},
		{"missing id", "cameras:\n  - source: test://", `camera #1: id: required`},
		{"invalid id", "cameras:\n  - id: Front_Door\n    source: test://", `camera "Front_Door": id:`},
		{"id with trailing dash", "cameras:\n  - id: front-\n    source: test://", `camera "front-": id:`},
		{"duplicate id", "cameras:\n  - id: a\n    source: test://\n  - id: a\n    source: test://", `camera "a": id: used by camera #1 and #2`},
		{"missing source", "cameras:\n  - id: a", `camera "a": source: required`},
		{"unknown scheme", "cameras:\n  - id: a\n    source: ftp://cam/x", `camera "a": source: "ftp://cam/x": unknown scheme "ftp"`},
		{"no scheme", "cameras:\n  - id: a\n    source: cam.local", `camera "a": source: "cam.local" has no scheme`},
		{"rtsp without host", "cameras:\n  - id: a\n    source: rtsp:///stream", `camera "a": source:`},
		{"bad device", "cameras:\n  - id: a\n    source: device:x", `camera "a": source: "device:x"`},
		{"unknown pattern", "cameras:\n  - id: a\n    source: test://plaid", `unknown test pattern "plaid"`},
		{"missing env var", "cameras:\n  - id: a\n    source: rtsp://u:${NOPE}@h/s", `camera "a": source: environment variable NOPE is not set`},
		{"unterminated env var", "cameras:\n  - id: a\n    source: rtsp://u:${NOPE@h/s", `camera "a": source: unterminated ${`},
		{"quality zero", "cameras:\n  - id: a\n    source: test://\n    quality: 0", `camera "a": quality: 0 is out of range 1..100`},
		{"quality high", "cameras:\n  - id: a\n    source: test://\n    quality: 101", `camera "a": quality: 101 is out of range`},
		{"fps negative", "cameras:\n  - id: a\n    source: test://\n    fps: -1", `camera "a": fps: -1 is out of range`},
		{"fps high", "cameras:\n  - id: a\n    source: test://\n    fps: 1000", `camera "a": fps: 1000 is out of range`},
		{"width small", "cameras:\n  - id: a\n    source: test://\n    width: 8", `camera "a": width: 8 is out of range`},
		{"width huge", "cameras:\n  - id: a\n    source: test://\n    width: 100000", `camera "a": width: 100000 is out of range`},
		{"bad idle timeout", "cameras:\n  - id: a\n    source: test://\n    idle_timeout: soon", "not a valid camera file"},
		{"negative idle timeout", "cameras:\n  - id: a\n    source: test://\n    idle_timeout: -1s", `camera "a": idle_timeout: -1s is negative`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cams, err := Parse([]byte(tt.file), env(nil))
			if err == nil {
				t.Fatalf("Parse = %+v, nil; want an error containing %q", cams, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error = %q, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("Parse error = %q, want one line", err)
			}
		})
	}
}

func TestParseErrorsHidePasswords(t *testing.T) {
	file := "cameras:\n  - id: a\n    source: rtsp://admin:${PASS}@/stream\n"
	_, err := Parse([]byte(file), env(map[string]string{"PASS": "hunter2"}))
	if err == nil {
		t.Fatal("Parse of an rtsp URL without host succeeded, want an error")
	}
	if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "admin") {
		t.Errorf("Parse error = %q, want the credentials masked", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cameras.yaml")
	if err := os.WriteFile(path, []byte("cameras:\n  - id: yard\n    source: test://ball\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		env     map[string]string
		wantIDs string
		wantErr string
	}{
		{"built-in test cameras", "", nil, "test1,test2", ""},
		{"camera file", path, nil, "yard", ""},
		{"camera file wins over the seed variable", path, map[string]string{"OPENCV_CAMERA_SOURCE": "device:0"}, "yard", ""},
		{"seed variable URL", "", map[string]string{"OPENCV_CAMERA_SOURCE": "rtsp://u:p@cam/s"}, "cam1", ""},
		{"seed variable device number", "", map[string]string{"OPENCV_CAMERA_SOURCE": "0"}, "cam1", ""},
		{"seed variable file path", "", map[string]string{"OPENCV_CAMERA_SOURCE": "/videos/a.mp4"}, "cam1", ""},
		{"bad seed variable", "", map[string]string{"OPENCV_CAMERA_SOURCE": "gopher://x"}, "", "OPENCV_CAMERA_SOURCE:"},
		{"missing file", filepath.Join(dir, "nope.yaml"), nil, "", "camera file: open"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cams, err := Load(tt.path, env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			var ids []string
			for _, c := range cams {
				ids = append(ids, c.ID)
			}
			if got := strings.Join(ids, ","); got != tt.wantIDs {
				t.Errorf("camera ids = %q, want %q", got, tt.wantIDs)
			}
		})
	}
}

func TestFromEnvSourceKinds(t *testing.T) {
	tests := []struct {
		in   string
		want Kind
	}{
		{"0", KindDevice},
		{"/videos/a.mp4", KindFile},
		{"rtsp://cam/s", KindURL},
		{"http://cam/mjpg", KindURL},
		{"test://", KindTest},
	}
	for _, tt := range tests {
		cam, err := FromEnvSource(tt.in)
		if err != nil {
			t.Errorf("FromEnvSource(%q): %v", tt.in, err)
			continue
		}
		if cam.Source.Kind != tt.want || cam.ID != "cam1" || cam.Quality != DefaultQuality {
			t.Errorf("FromEnvSource(%q) = %+v, want kind %v, id cam1, default quality", tt.in, cam, tt.want)
		}
	}
}

func TestExpand(t *testing.T) {
	files := map[string]string{
		"/run/secrets/pass":  "s3cret\n",
		"/run/secrets/crlf":  "dos\r\n",
		"/run/secrets/two":   "two\n\n",
		"/run/secrets/empty": "\n",
		"/run/secrets/huge":  strings.Repeat("x", maxSecretFile+1),
	}
	e := Env{
		Getenv: func(k string) string { return map[string]string{"A": "1", "B_2": "two"}[k] },
		ReadFile: func(path string) ([]byte, error) {
			v, ok := files[path]
			if !ok {
				return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
			}
			return []byte(v), nil
		},
	}
	tests := []struct {
		in, want, wantErr string
	}{
		{"plain", "plain", ""},
		{"${A}", "1", ""},
		{"x${A}y${B_2}z", "x1ytwoz", ""},
		{"cost $5 and $A", "cost $5 and $A", ""},
		{"${MISSING}", "", "MISSING is not set"},
		{"${1BAD}", "", "not a valid variable name"},
		{"${A", "", "unterminated"},
		{"u:${file:/run/secrets/pass}@h", "u:s3cret@h", ""},
		{"${file:/run/secrets/crlf}", "dos", ""},
		{"${file:/run/secrets/two}", "two\n", ""},
		{"${A}:${file:/run/secrets/pass}", "1:s3cret", ""},
		{"${file:/run/secrets/nope}", "", "${file:/run/secrets/nope}: file does not exist"},
		{"${file:/run/secrets/empty}", "", "${file:/run/secrets/empty}: the file is empty"},
		{"${file:/run/secrets/huge}", "", "larger than 64 KiB"},
		{"${file:run/secrets/pass}", "", "the path must be absolute"},
		{"${file:}", "", "the path must be absolute"},
	}
	for _, tt := range tests {
		got, err := Expand(tt.in, e)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Expand(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Expand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// A password in a file: read from the real file system, changed in
// place, read again by the next Parse; its errors name the path only.
func TestParseSecretFile(t *testing.T) {
	dir := t.TempDir()
	pass := filepath.Join(dir, "front-pass")
	if err := os.WriteFile(pass, []byte("first-Pw1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := []byte("cameras:\n  - id: front\n    source: rtsp://admin:${file:" + pass + "}@10.0.0.5/s\n")
	cams, err := Parse(file, Env{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got, want := cams[0].Source.Raw(), "rtsp://admin:first-Pw1@10.0.0.5/s"; got != want {
		t.Errorf("source = %q, want %q", got, want)
	}
	if err := os.WriteFile(pass, []byte("second-Pw2"), 0o600); err != nil {
		t.Fatal(err)
	}
	again, err := Parse(file, Env{})
	if err != nil {
		t.Fatalf("Parse after the change: %v", err)
	}
	if again[0].Equal(cams[0]) {
		t.Errorf("the camera with a changed password file is Equal to before: %q", again[0].Source.Raw())
	}
	if err := os.Remove(pass); err != nil {
		t.Fatal(err)
	}
	_, err = Parse(file, Env{})
	if err == nil || !strings.Contains(err.Error(), `camera "front": source: ${file:`+pass+`}: no such file or directory`) {
		t.Errorf("Parse with the password file gone: error %v, want it to name the camera, the field and the file", err)
	}
}
