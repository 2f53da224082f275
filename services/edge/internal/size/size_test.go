package size

import "testing"

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{in: "320", want: 320},
		{in: "390", want: 320},
		{in: "1", want: 160},
		{in: "159", want: 160},
		{in: "1919", want: 1280},
		{in: "1920", want: 1920},
		{in: "100000", want: 1920},
		{in: "0", wantErr: true},
		{in: "-1", wantErr: true},
		{in: "-320", wantErr: true},
		{in: "99999999999999999999999", wantErr: true},
		{in: "abc", wantErr: true},
		{in: "320px", wantErr: true},
		{in: "3.5", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("Parse(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("Parse(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestFor(t *testing.T) {
	tests := []struct{ w, full, want int }{
		{0, 1280, 0},
		{320, 1280, 320},
		{1000, 1280, 960},
		{1280, 1280, 0},
		{1920, 1280, 0},
		{640, 640, 0},
		{700, 0, 640}, // camera's size not known yet: capture caps it
	}
	for _, tt := range tests {
		if got := For(tt.w, tt.full); got != tt.want {
			t.Errorf("For(%d, %d) = %d, want %d", tt.w, tt.full, got, tt.want)
		}
	}
}

func TestKey(t *testing.T) {
	for _, tt := range []struct {
		id string
		w  int
	}{{"front", 0}, {"front", 320}, {"a-1", 1920}} {
		k := Key(tt.id, tt.w)
		if id, w := SplitKey(k); id != tt.id || w != tt.w {
			t.Errorf("SplitKey(Key(%q, %d) = %q) = %q, %d", tt.id, tt.w, k, id, w)
		}
	}
	if Key("front", 0) != "front" {
		t.Errorf("Key(front, 0) = %q, want the bare id", Key("front", 0))
	}
}
