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
		{"rotate", "rotate: 180", false},
		{"rotate 0 is no control", "rotate: 0", true},
		{"flip", "flip: horizontal", false},
		{"crop", "crop: {x: 0, y: 0, width: 320, height: 240}", false},
		{"mask", "masks: [{x: 0, y: 0, width: 10, height: 10}]", false},
		{"overlay", "overlay: {text: \"{name}\"}", false},
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
