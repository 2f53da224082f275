package size

import (
	"math"
	"testing"
)

func TestSnap(t *testing.T) {
	tests := []struct {
		want    int
		got     int
		wantErr bool
	}{
		{want: 0, got: 0},
		{want: -1, wantErr: true},
		{want: math.MinInt32, wantErr: true},
		{want: 1, got: 160},
		{want: 159, got: 160},
		{want: 160, got: 160},
		{want: 319, got: 160},
		{want: 320, got: 320},
		{want: 390, got: 320},
		{want: 1170, got: 960},
		{want: 1280, got: 1280},
		{want: 1919, got: 1280},
		{want: 1920, got: 1920},
		{want: math.MaxInt32, got: 1920},
	}
	for _, tt := range tests {
		got, err := Snap(tt.want)
		if (err != nil) != tt.wantErr {
			t.Errorf("Snap(%d) error = %v, want error %v", tt.want, err, tt.wantErr)
			continue
		}
		if got != tt.got {
			t.Errorf("Snap(%d) = %d, want %d", tt.want, got, tt.got)
		}
	}
}

func TestHeight(t *testing.T) {
	tests := []struct{ w, fw, fh, want int }{
		{320, 1280, 720, 180},
		{160, 640, 480, 120},
		{160, 1920, 1080, 90},
		{160, 10000, 10, 1},
		{320, 0, 0, 0},
	}
	for _, tt := range tests {
		if got := Height(tt.w, tt.fw, tt.fh); got != tt.want {
			t.Errorf("Height(%d, %d, %d) = %d, want %d", tt.w, tt.fw, tt.fh, got, tt.want)
		}
	}
}
