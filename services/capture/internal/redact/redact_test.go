package redact

import (
	"strings"
	"testing"
)

func TestSource(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"rtsp://admin:s3cret@10.0.0.5:554/stream1", "rtsp://***@10.0.0.5:554/stream1"},
		{"rtsps://admin:s3cret@cam.example:322/live?channel=1", "rtsps://***@cam.example:322/live?channel=1"},
		{"rtsp://admin@10.0.0.5/stream", "rtsp://***@10.0.0.5/stream"},
		{"rtsp://10.0.0.5:554/stream1", "rtsp://10.0.0.5:554/stream1"},
		{"rtsp://user:p@ss:w/rd@10.0.0.5/s", "rtsp://***@10.0.0.5/s"},
		{"rtsp://user:pa%40ss#frag@10.0.0.5/s", "rtsp://***@10.0.0.5/s"},
		{"http://cam.local/mjpg/video.mjpg?user=admin&pwd=s3cret&res=hd", "http://cam.local/mjpg/video.mjpg?user=***&pwd=***&res=hd"},
		{"https://cam.local/video?Token=abc123", "https://cam.local/video?Token=***"},
		{"http://u:p@cam.local/video?password=x", "http://***@cam.local/video?password=***"},
		{"device:0", "device:0"},
		{"file:/videos/a.mp4", "file:/videos/a.mp4"},
		{"test://ball", "test://ball"},
		{"user:secret@10.0.0.5/stream", "***@10.0.0.5/stream"},
		{"", ""},
	}
	for _, tt := range tests {
		got := Source(tt.in)
		if got != tt.want {
			t.Errorf("Source(%q) = %q, want %q", tt.in, got, tt.want)
		}
		for _, secret := range []string{"s3cret", "admin", "abc123", "p@ss"} {
			if strings.Contains(tt.in, secret) && strings.Contains(got, secret) {
				t.Errorf("Source(%q) = %q still contains %q", tt.in, got, secret)
			}
		}
	}
}
