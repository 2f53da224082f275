package config

import "testing"

// TestPassThrough: a camera passes its source's JPEG frames through only
// when nothing in its camera file asks for other pixels or bytes.
func TestPassThrough(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want bool
	}{
		{"nothing set", "", true},
		{"fps cap only", "fps: 5", true},
		{"on demand", "on_demand: true", true},
		{"width", "width: 640", false},
		{"quality", "quality: 70", false},
		{"default quality written out", "quality: 80", false},
		// Picture controls (rotate, flip, crop, masks, overlay) turn it
		// off as well: their rows belong here once they exist.
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := "cameras:\n  - id: cam\n    source: http://cam.local/video.mjpg\n"
			if tt.yaml != "" {
				file += "    " + tt.yaml + "\n"
			}
			cams, err := Parse([]byte(file), Env{})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := cams[0].PassThrough(); got != tt.want {
				t.Errorf("PassThrough() = %v for %q, want %v", got, tt.yaml, tt.want)
			}
		})
	}
}
