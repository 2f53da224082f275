package config

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"slices"
	"strconv"
	"strings"

	"github.com/camstream/camstream/services/capture/internal/timefmt"
)

// Controls are a camera's picture controls, applied once per frame before
// any encode, so in every size, snapshot and stream, in this order: Rotate,
// Flip, Crop, Masks, Overlay. The zero value changes nothing.
type Controls struct {
	Rotate  int             // degrees clockwise: 0, 90, 180 or 270
	Flip    Flip            // after rotating
	Crop    image.Rectangle // in pixels of the rotated and flipped picture; empty = none
	Masks   []Mask          // in pixels of the cropped picture, filled opaque
	Overlay Overlay         // drawn after the masks
}

// Flip mirrors the picture.
type Flip string

// The flips a camera file may name ("none" is stored as FlipNone).
const (
	FlipNone       Flip = ""
	FlipHorizontal Flip = "horizontal"
	FlipVertical   Flip = "vertical"
	FlipBoth       Flip = "both"
)

// Mask is a privacy mask: a rectangle, or a polygon when Points is set,
// filled with Color.
type Mask struct {
	Rect   image.Rectangle
	Points []image.Point
	Color  color.RGBA
}

// Bounds is the smallest rectangle holding the mask.
func (m Mask) Bounds() image.Rectangle {
	if len(m.Points) == 0 {
		return m.Rect
	}
	r := image.Rectangle{Min: m.Points[0], Max: m.Points[0]}
	for _, p := range m.Points[1:] {
		r.Min.X, r.Min.Y = min(r.Min.X, p.X), min(r.Min.Y, p.Y)
		r.Max.X, r.Max.Y = max(r.Max.X, p.X), max(r.Max.Y, p.Y)
	}
	r.Max = r.Max.Add(image.Pt(1, 1)) // a point covers its pixel
	return r
}

// Overlay is text drawn on the picture: {name} is the camera's name, and
// strftime-like fields (%Y-%m-%d %H:%M:%S) the capture time. Text empty =
// no overlay.
type Overlay struct {
	Text   string
	Corner Corner
	Size   int // text height in pixels; 0 = from the picture's height
}

// Corner is where the overlay is drawn.
type Corner string

// The corners an overlay may name.
const (
	TopLeft     Corner = "top-left"
	TopRight    Corner = "top-right"
	BottomLeft  Corner = "bottom-left"
	BottomRight Corner = "bottom-right"
)

// Limits of the overlay's size.
const (
	MinOverlaySize = 8
	MaxOverlaySize = 400
)

// IsZero reports whether no control is set: the picture is used as the
// source gives it, and a JPEG source may pass through undecoded.
func (c Controls) IsZero() bool { return c.Equal(Controls{}) }

// Equal reports whether c and o are the same controls.
func (c Controls) Equal(o Controls) bool {
	return c.Rotate == o.Rotate && c.Flip == o.Flip && c.Crop == o.Crop &&
		c.Overlay == o.Overlay && slices.EqualFunc(c.Masks, o.Masks, Mask.Equal)
}

// Equal reports whether m and o are the same mask.
func (m Mask) Equal(o Mask) bool {
	return m.Rect == o.Rect && m.Color == o.Color && slices.Equal(m.Points, o.Points)
}

// fileControls are the controls as written in a camera entry.
type fileControls struct {
	Rotate  int          `yaml:"rotate"`
	Flip    string       `yaml:"flip"`
	Crop    *fileRect    `yaml:"crop"`
	Masks   []fileMask   `yaml:"masks"`
	Overlay *fileOverlay `yaml:"overlay"`
}

type fileRect struct {
	X      int `yaml:"x"`
	Y      int `yaml:"y"`
	Width  int `yaml:"width"`
	Height int `yaml:"height"`
}

type fileMask struct {
	fileRect `yaml:",inline"`
	Points   [][]int `yaml:"points"`
	Color    string  `yaml:"color"`
}

type fileOverlay struct {
	Text   string `yaml:"text"`
	Corner string `yaml:"corner"`
	Size   int    `yaml:"size"`
}

// validate returns the controls, or an error naming the field. Bounds
// that depend on the picture's size are checked on the first frame.
func (fc fileControls) validate() (Controls, error) {
	var c Controls
	switch fc.Rotate {
	case 0, 90, 180, 270:
		c.Rotate = fc.Rotate
	default:
		return Controls{}, fmt.Errorf("rotate: %d is not one of 0, 90, 180, 270", fc.Rotate)
	}
	switch f := Flip(fc.Flip); f {
	case "", "none":
	case FlipHorizontal, FlipVertical, FlipBoth:
		c.Flip = f
	default:
		return Controls{}, fmt.Errorf("flip: %q is not one of none, horizontal, vertical, both", fc.Flip)
	}
	if fc.Crop != nil {
		r, err := fc.Crop.rect()
		if err != nil {
			return Controls{}, fmt.Errorf("crop: %w", err)
		}
		c.Crop = r
	}
	for i, fm := range fc.Masks {
		m, err := fm.mask()
		if err != nil {
			return Controls{}, fmt.Errorf("masks[%d]: %w", i, err)
		}
		c.Masks = append(c.Masks, m)
	}
	if fc.Overlay != nil {
		o, err := fc.Overlay.overlay()
		if err != nil {
			return Controls{}, fmt.Errorf("overlay: %w", err)
		}
		c.Overlay = o
	}
	return c, nil
}

func (r fileRect) rect() (image.Rectangle, error) {
	switch {
	case r.X < 0 || r.Y < 0:
		return image.Rectangle{}, fmt.Errorf("x and y must not be negative (got x %d, y %d)", r.X, r.Y)
	case r.Width <= 0 || r.Height <= 0:
		return image.Rectangle{}, fmt.Errorf("width and height must be positive (got %d×%d)", r.Width, r.Height)
	}
	return image.Rect(r.X, r.Y, r.X+r.Width, r.Y+r.Height), nil
}

func (fm fileMask) mask() (Mask, error) {
	var m Mask
	col, err := parseColor(fm.Color)
	if err != nil {
		return Mask{}, fmt.Errorf("color: %w", err)
	}
	m.Color = col
	if fm.Points == nil {
		r, err := fm.rect()
		m.Rect = r
		return m, err
	}
	if fm.fileRect != (fileRect{}) {
		return Mask{}, errors.New("give either points (a polygon) or x, y, width, height (a rectangle), not both")
	}
	if len(fm.Points) < 3 {
		return Mask{}, fmt.Errorf("points: a polygon needs at least 3 points, got %d", len(fm.Points))
	}
	for i, p := range fm.Points {
		if len(p) != 2 || p[0] < 0 || p[1] < 0 {
			return Mask{}, fmt.Errorf("points[%d]: %v is not a point [x, y] with x, y ≥ 0", i, p)
		}
		m.Points = append(m.Points, image.Pt(p[0], p[1]))
	}
	if b := m.Bounds(); b.Dx() < 2 || b.Dy() < 2 {
		return Mask{}, errors.New("points: the polygon has no area")
	}
	return m, nil
}

func (fo fileOverlay) overlay() (Overlay, error) {
	o := Overlay{Text: fo.Text, Corner: Corner(fo.Corner), Size: fo.Size}
	if strings.TrimSpace(o.Text) == "" {
		return Overlay{}, errors.New("text: required")
	}
	if strings.ContainsAny(o.Text, "\n\r") {
		return Overlay{}, errors.New("text: must be one line")
	}
	if _, err := timefmt.Parse(o.Text); err != nil {
		return Overlay{}, fmt.Errorf("text: %w", err)
	}
	switch o.Corner {
	case "":
		o.Corner = TopLeft
	case TopLeft, TopRight, BottomLeft, BottomRight:
	default:
		return Overlay{}, fmt.Errorf("corner: %q is not one of top-left, top-right, bottom-left, bottom-right", fo.Corner)
	}
	if o.Size != 0 && (o.Size < MinOverlaySize || o.Size > MaxOverlaySize) {
		return Overlay{}, fmt.Errorf("size: %d is out of range %d..%d pixels (0 = from the picture's height)", o.Size, MinOverlaySize, MaxOverlaySize)
	}
	return o, nil
}

// parseColor parses "#rrggbb" or "#rgb"; empty is black.
func parseColor(s string) (color.RGBA, error) {
	if s == "" {
		return color.RGBA{A: 255}, nil
	}
	hex, ok := strings.CutPrefix(s, "#")
	if ok && len(hex) == 3 {
		hex = string([]byte{hex[0], hex[0], hex[1], hex[1], hex[2], hex[2]})
	}
	v, err := strconv.ParseUint(hex, 16, 32)
	if !ok || len(hex) != 6 || err != nil {
		return color.RGBA{}, fmt.Errorf("%q is not a colour \"#rrggbb\"", s)
	}
	return color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 255}, nil
}
