package rtspserver

import (
	"image"
	"os/exec"
	"strings"
	"testing"

	"github.com/camstream/camstream/test/harness"
)

// TestServesH264 checks the server with ffprobe: 720p30 H.264, auth
// enforced, and the same port after a restart.
func TestServesH264(t *testing.T) {
	ffprobe := harness.RequireTool(t, "ffprobe")
	s := Start(t, Options{User: "viewer", Password: "s3cret"})
	probe := func(url string) (string, error) {
		out, err := exec.Command(ffprobe, "-v", "error", "-rtsp_transport", "tcp",
			"-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height,r_frame_rate",
			"-of", "csv=p=0", url).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	got, err := probe(s.URL("/stream"))
	if err != nil {
		t.Fatalf("ffprobe: %v: %s", err, got)
	}
	if want := "h264,1280,720,30/1"; got != want {
		t.Errorf("stream = %q, want %q", got, want)
	}
	if out, err := probe(strings.Replace(s.URL("/stream"), "s3cret", "wrong", 1)); err == nil {
		t.Errorf("wrong password accepted: %s", out)
	}

	port := s.Port()
	s.Stop()
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if s.Port() != port {
		t.Errorf("port after restart = %d, want %d", s.Port(), port)
	}
	if out, err := probe(s.URL("/stream")); err != nil {
		t.Errorf("after restart: %v: %s", err, out)
	}
}

// TestServesSizes checks that a path of Sizes is served at its own size
// beside the others, and that the log tells which paths were played.
func TestServesSizes(t *testing.T) {
	ffprobe := harness.RequireTool(t, "ffprobe")
	s := Start(t, Options{Paths: []string{"/main"}, Sizes: map[string]image.Point{"/sub": {640, 360}}})
	for path, want := range map[string]string{"/main": "h264,1280,720", "/sub": "h264,640,360"} {
		out, err := exec.Command(ffprobe, "-v", "error", "-rtsp_transport", "tcp",
			"-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height",
			"-of", "csv=p=0", s.URL(path)).CombinedOutput()
		if got := strings.TrimSpace(string(out)); err != nil || got != want {
			t.Errorf("%s: ffprobe = %q (%v), want %q", path, got, err, want)
		}
		if !strings.Contains(s.Log(), "play "+path+"\n") {
			t.Errorf("log after probing %s lacks %q:\n%s", path, "play "+path, s.Log())
		}
	}
}
