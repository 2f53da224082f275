package config

import (
	"image"
	"image/color"
	"strings"
	"testing"
)

// parseOne parses a camera file with one test camera "a" whose entry ends
// with extra (YAML lines indented as the camera's fields).
func parseOne(extra string) ([]Camera, error) {
	return Parse([]byte("cameras:\n  - id: a\n    source: test://\n"+extra), env(nil))
}

func TestParseControls(t *testing.T) {
	cams, err := parseOne(`    rotate: 90
    flip: horizontal
    crop: {x: 0, y: 40, width: 1280, height: 640}
    masks:
      - {x: 10, y: 20, width: 320, height: 180}
      - {points: [[0, 0], [100, 0], [50, 80]], color: "#ff8000"}
      - {x: 1, y: 2, width: 3, height: 4, color: "#0f0"}
    overlay: {text: "{name} %Y-%m-%d %H:%M:%S", corner: bottom-right, size: 24}
`)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := Controls{
		Rotate: 90, Flip: FlipHorizontal, Crop: image.Rect(0, 40, 1280, 680),
		Masks: []Mask{
			{Rect: image.Rect(10, 20, 330, 200), Color: color.RGBA{A: 255}},
			{Points: []image.Point{{0, 0}, {100, 0}, {50, 80}}, Color: color.RGBA{R: 255, G: 128, A: 255}},
			{Rect: image.Rect(1, 2, 4, 6), Color: color.RGBA{G: 255, A: 255}},
		},
		Overlay: Overlay{Text: "{name} %Y-%m-%d %H:%M:%S", Corner: BottomRight, Size: 24},
	}
	if got := cams[0].Controls; !got.Equal(want) {
		t.Errorf("controls = %+v, want %+v", got, want)
	}
	if cams[0].Controls.IsZero() {
		t.Error("IsZero() = true for a camera with controls")
	}
}

func TestParseControlsDefaults(t *testing.T) {
	cams, err := parseOne("    flip: none\n    rotate: 0\n")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if !cams[0].Controls.IsZero() {
		t.Errorf("controls = %+v, want none set (flip none, rotate 0)", cams[0].Controls)
	}
	cams, err = parseOne("    overlay: {text: cam}\n")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := cams[0].Controls.Overlay; got != (Overlay{Text: "cam", Corner: TopLeft}) {
		t.Errorf("overlay = %+v, want top-left, size 0 (from the picture)", got)
	}
}

func TestParseControlsInvalid(t *testing.T) {
	tests := []struct{ name, extra, want string }{
		{"odd rotate", "    rotate: 45", `camera "a": rotate: 45 is not one of 0, 90, 180, 270`},
		{"negative rotate", "    rotate: -90", `camera "a": rotate: -90 is not one of`},
		{"unknown flip", "    flip: sideways", `camera "a": flip: "sideways" is not one of none, horizontal, vertical, both`},
		{"crop zero width", "    crop: {x: 0, y: 0, width: 0, height: 10}", `camera "a": crop: width and height must be positive (got 0×10)`},
		{"crop negative height", "    crop: {x: 0, y: 0, width: 10, height: -1}", `camera "a": crop: width and height must be positive`},
		{"crop negative x", "    crop: {x: -5, y: 0, width: 10, height: 10}", `camera "a": crop: x and y must not be negative`},
		{"crop unknown field", "    crop: {x: 0, y: 0, w: 10, h: 10}", "field w not found"},
		{"mask zero size", "    masks:\n      - {x: 5, y: 5, width: 0, height: 0}", `camera "a": masks[0]: width and height must be positive (got 0×0)`},
		{"second mask empty", "    masks:\n      - {x: 0, y: 0, width: 4, height: 4}\n      - {color: \"#fff\"}", `camera "a": masks[1]: width and height must be positive`},
		{"mask bad colour", "    masks:\n      - {x: 0, y: 0, width: 4, height: 4, color: red}", `camera "a": masks[0]: color: "red" is not a colour "#rrggbb"`},
		{"mask short colour", "    masks:\n      - {x: 0, y: 0, width: 4, height: 4, color: \"#12345\"}", `camera "a": masks[0]: color: "#12345" is not a colour`},
		{"mask non-hex colour", "    masks:\n      - {x: 0, y: 0, width: 4, height: 4, color: \"#gg0000\"}", `camera "a": masks[0]: color: "#gg0000" is not a colour`},
		{"polygon two points", "    masks:\n      - {points: [[0, 0], [5, 5]]}", `camera "a": masks[0]: points: a polygon needs at least 3 points, got 2`},
		{"polygon bad point", "    masks:\n      - {points: [[0, 0], [5], [5, 5]]}", `camera "a": masks[0]: points[1]: [5] is not a point`},
		{"polygon negative point", "    masks:\n      - {points: [[0, 0], [-5, 5], [5, 5]]}", `camera "a": masks[0]: points[1]:`},
		{"polygon flat", "    masks:\n      - {points: [[0, 0], [5, 0], [9, 0]]}", `camera "a": masks[0]: points: the polygon has no area`},
		{"polygon and rectangle", "    masks:\n      - {x: 1, width: 4, height: 4, points: [[0, 0], [5, 0], [5, 5]]}", `camera "a": masks[0]: give either points`},
		{"overlay without text", "    overlay: {corner: top-left}", `camera "a": overlay: text: required`},
		{"overlay unknown corner", "    overlay: {text: x, corner: middle}", `camera "a": overlay: corner: "middle" is not one of top-left, top-right, bottom-left, bottom-right`},
		{"overlay unknown time field", "    overlay: {text: \"%Y %Q\"}", `camera "a": overlay: text: unknown time field %Q`},
		{"overlay two lines", "    overlay: {text: \"a\\nb\"}", `camera "a": overlay: text: must be one line`},
		{"overlay tiny", "    overlay: {text: x, size: 2}", `camera "a": overlay: size: 2 is out of range 8..400`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cams, err := parseOne(tt.extra + "\n")
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

func TestCameraEqual(t *testing.T) {
	base := func() Camera {
		cams, err := parseOne("    masks:\n      - {x: 1, y: 2, width: 3, height: 4}\n      - {points: [[0, 0], [5, 0], [5, 5]]}\n    overlay: {text: x}\n")
		if err != nil {
			t.Fatal(err)
		}
		return cams[0]
	}
	tests := []struct {
		name   string
		change func(*Camera)
		equal  bool
	}{
		{"parsed twice", func(*Camera) {}, true},
		{"rotate", func(c *Camera) { c.Controls.Rotate = 180 }, false},
		{"flip", func(c *Camera) { c.Controls.Flip = FlipBoth }, false},
		{"crop", func(c *Camera) { c.Controls.Crop = image.Rect(0, 0, 5, 5) }, false},
		{"mask moved", func(c *Camera) { c.Controls.Masks[0].Rect.Min.X = 0 }, false},
		{"mask colour", func(c *Camera) { c.Controls.Masks[0].Color.R = 1 }, false},
		{"polygon point", func(c *Camera) { c.Controls.Masks[1].Points[2].Y = 6 }, false},
		{"mask removed", func(c *Camera) { c.Controls.Masks = c.Controls.Masks[:1] }, false},
		{"overlay text", func(c *Camera) { c.Controls.Overlay.Text = "y" }, false},
		{"overlay corner", func(c *Camera) { c.Controls.Overlay.Corner = BottomLeft }, false},
		{"quality", func(c *Camera) { c.Quality = 50 }, false},
		{"name", func(c *Camera) { c.Name = "b" }, false},
		{"source", func(c *Camera) { c.Source, _ = ParseSource("test://smpte") }, false},
	}
	for _, tt := range tests {
		a, b := base(), base()
		tt.change(&b)
		if got := a.Equal(b); got != tt.equal {
			t.Errorf("%s: Equal = %v, want %v", tt.name, got, tt.equal)
		}
		if got := b.Equal(a); got != tt.equal {
			t.Errorf("%s: Equal reversed = %v, want %v", tt.name, got, tt.equal)
		}
	}
}
