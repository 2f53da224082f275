package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestParseSubSource(t *testing.T) {
	file := `cameras:
  - id: front
    source: rtsp://${USER}:${PASS}@10.0.0.5:554/stream1
    sub_source: rtsp://${USER}:${PASS}@10.0.0.5:554/stream2
  - id: yard
    source: test://ball
`
	cams, err := Parse([]byte(file), env(map[string]string{"USER": "admin", "PASS": "s3cret"}))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	sub := cams[0].SubSource
	if got, want := sub.Raw(), "rtsp://admin:s3cret@10.0.0.5:554/stream2"; got != want {
		t.Errorf("front sub_source raw = %q, want %q", got, want)
	}
	if sub.Kind != KindURL || sub.IsZero() {
		t.Errorf("front sub_source = %+v, want a URL source", sub)
	}
	if !cams[1].SubSource.IsZero() {
		t.Errorf("yard sub_source = %+v, want none", cams[1].SubSource)
	}
	// Every way the camera is printed hides the sub-stream's credentials.
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("camera", "sub_source", sub, "camera", cams[0])
	js, err := json.Marshal(cams[0])
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	for what, s := range map[string]string{
		"String": sub.String(), "log": logged.String(), "JSON": string(js),
		"%v": fmt.Sprintf("%v", cams[0]), "%+v": fmt.Sprintf("%+v", cams[0]),
	} {
		if strings.Contains(s, "s3cret") || strings.Contains(s, "admin") {
			t.Errorf("%s = %q, want the sub_source's credentials masked", what, s)
		}
		if !strings.Contains(s, "stream2") {
			t.Errorf("%s = %q, want it to show the sub_source's path", what, s)
		}
	}
}

func TestParseSubSourceInvalid(t *testing.T) {
	tests := []struct{ name, file, want string }{
		{"unknown scheme", "cameras:\n  - id: a\n    source: test://\n    sub_source: ftp://cam/x",
			`camera "a": sub_source: "ftp://cam/x": unknown scheme "ftp"`},
		{"no host", "cameras:\n  - id: a\n    source: test://\n    sub_source: rtsp:///s2", `camera "a": sub_source: "rtsp:///s2" is not a valid rtsp URL`},
		{"device", "cameras:\n  - id: a\n    source: device:0\n    sub_source: device:1", `camera "a": sub_source: device:1: a device has no second stream`},
		{"same as source", "cameras:\n  - id: a\n    source: rtsp://h/s1\n    sub_source: rtsp://h/s1", `camera "a": sub_source: rtsp://h/s1 is the source itself`},
		{"missing env var", "cameras:\n  - id: a\n    source: test://\n    sub_source: rtsp://u:${NOPE}@h/s2", `camera "a": sub_source: environment variable NOPE is not set`},
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
		})
	}
}

func TestParseSubSourceErrorHidesPassword(t *testing.T) {
	file := "cameras:\n  - id: a\n    source: test://\n    sub_source: rtsp://admin:${PASS}@/stream2\n"
	_, err := Parse([]byte(file), env(map[string]string{"PASS": "hunter2"}))
	if err == nil {
		t.Fatal("Parse of a sub_source without host succeeded, want an error")
	}
	if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "admin") {
		t.Errorf("Parse error = %q, want the credentials masked", err)
	}
}

func TestCameraEqualSubSource(t *testing.T) {
	parse := func(sub string) Camera {
		t.Helper()
		file := "cameras:\n  - id: a\n    source: rtsp://h/s1\n"
		if sub != "" {
			file += "    sub_source: " + sub + "\n"
		}
		cams, err := Parse([]byte(file), env(nil))
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		return cams[0]
	}
	none, s2 := parse(""), parse("rtsp://h/s2")
	if !s2.Equal(parse("rtsp://h/s2")) {
		t.Error("the same sub_source twice: Equal = false, want true")
	}
	changes := []struct {
		name     string
		old, new Camera
	}{
		{"added", none, s2},
		{"removed", s2, none},
		{"other path", s2, parse("rtsp://h/s3")},
		{"new password", s2, parse("rtsp://u:p@h/s2")},
	}
	for _, ch := range changes {
		if ch.old.Equal(ch.new) {
			t.Errorf("sub_source %s: Equal = true, want false (a reload restarts the camera)", ch.name)
		}
	}
}

func TestParseSubSourceWithControls(t *testing.T) {
	file := "cameras:\n  - id: a\n    source: rtsp://h/s1\n    sub_source: rtsp://h/s2\n    rotate: 180\n" +
		"    masks: [{x: 10, y: 20, width: 30, height: 40, color: \"#00ff00\"}]\n"
	cams, err := Parse([]byte(file), env(nil))
	if err != nil {
		t.Fatalf("Parse of a camera with a sub_source and picture controls: %v", err)
	}
	c := cams[0]
	if c.SubSource.IsZero() || c.Controls.Rotate != 180 || len(c.Controls.Masks) != 1 {
		t.Fatalf("Parse = %+v, want the sub_source, rotate 180 and one mask", c)
	}
	other, err := Parse([]byte(strings.Replace(file, "width: 30", "width: 31", 1)), env(nil))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if c.Equal(other[0]) {
		t.Error("a changed mask beside a sub_source: Equal = true, want false (a reload restarts the camera)")
	}
}
