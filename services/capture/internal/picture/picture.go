// Package picture applies a camera's picture controls to its decoded
// frames, once per frame before any encode: rotate and flip (one pass
// over the pixels), crop (a view, no copy), privacy masks (filled opaque)
// and a text overlay, in that order. A Pipeline reuses its buffers from
// frame to frame; with no control set, Apply returns the frame as it is.
package picture

import (
	"fmt"
	"image"
	"time"

	"gocv.io/x/gocv"

	"github.com/camstream/camstream/services/capture/internal/config"
)

// Flip bits, composed by exclusive or.
const (
	flipH = 1 << iota
	flipV
)

// Pipeline applies one camera's controls. It is used by one goroutine.
type Pipeline struct {
	id   string
	c    config.Controls
	zero bool

	transpose bool // rotate 90 or 270: transpose before the flips
	flips     int  // flipH|flipV after the transpose
	oriented  gocv.Mat

	cropRect []image.Rectangle // the crop, as one view
	cropView views

	checked   image.Point       // the oriented size whose bounds were checked, else -1×-1
	polys     [][][]image.Point // per mask, nil for a rectangle
	rects     []image.Rectangle // the rectangle masks, as views
	rectIndex []int             // per mask, its index in rects
	fills     []gocv.Scalar     // per mask, its colour
	rectViews views
	text      *overlay
}

// New returns the pipeline of cfg's controls; Close releases it.
func New(cfg config.Camera) *Pipeline {
	c := cfg.Controls
	p := &Pipeline{id: cfg.ID, c: c, zero: c.IsZero(), oriented: gocv.NewMat(), checked: image.Pt(-1, -1)}
	switch c.Rotate {
	case 90:
		p.transpose, p.flips = true, flipH
	case 180:
		p.flips = flipH | flipV
	case 270:
		p.transpose, p.flips = true, flipV
	}
	switch c.Flip {
	case config.FlipHorizontal:
		p.flips ^= flipH
	case config.FlipVertical:
		p.flips ^= flipV
	case config.FlipBoth:
		p.flips ^= flipH | flipV
	}
	if !c.Crop.Empty() {
		p.cropRect = []image.Rectangle{c.Crop}
	}
	for _, m := range c.Masks {
		var poly [][]image.Point
		if len(m.Points) > 0 {
			poly = [][]image.Point{m.Points}
		}
		p.polys = append(p.polys, poly)
		p.rectIndex = append(p.rectIndex, len(p.rects))
		if poly == nil {
			p.rects = append(p.rects, m.Rect)
		}
		p.fills = append(p.fills, gocv.NewScalar(float64(m.Color.B), float64(m.Color.G), float64(m.Color.R), 0))
	}
	if c.Overlay.Text != "" {
		p.text = newOverlay(c.Overlay, cfg)
	}
	return p
}

// Apply returns src with the controls applied: src itself or a view into
// it (turned, flipped and drawn on in place: its pixels change), or one of
// the pipeline's buffers, valid until the next Apply. now is the time an
// overlay prints. A crop or mask that does not fit the picture is
// an error, checked on the first frame and whenever the size changes.
func (p *Pipeline) Apply(src gocv.Mat, now time.Time) (gocv.Mat, error) {
	if p.zero {
		return src, nil
	}
	pic := p.orient(src)
	if size := image.Pt(pic.Cols(), pic.Rows()); size != p.checked {
		if err := p.check(size); err != nil {
			return gocv.Mat{}, fmt.Errorf("camera %q: %w", p.id, err)
		}
		p.checked = size
	}
	pic = p.crop(pic)
	p.mask(pic)
	if p.text != nil {
		p.text.draw(&pic, now)
	}
	return pic, nil
}

// orient rotates and flips src in one pass where one is enough: rotate
// 180 (or flip both) reverses src's pixels in place, a flip is one Flip of
// src in place, 90 and 270 one Rotate (a transpose and a flip inside
// OpenCV) into the pipeline's buffer.
func (p *Pipeline) orient(src gocv.Mat) gocv.Mat {
	switch {
	case p.transpose && p.flips == flipH:
		gocv.Rotate(src, &p.oriented, gocv.Rotate90Clockwise)
	case p.transpose && p.flips == flipV:
		gocv.Rotate(src, &p.oriented, gocv.Rotate90CounterClockwise)
	case p.transpose:
		gocv.Transpose(src, &p.oriented)
		if p.flips != 0 {
			gocv.Flip(p.oriented, &p.oriented, flipCode(p.flips))
		}
	case p.flips == flipH|flipV:
		turn180(&src)
		return src
	case p.flips != 0:
		gocv.Flip(src, &src, flipCode(p.flips)) // in place: a fifth cheaper than into another buffer
		return src
	default:
		return src
	}
	return p.oriented
}

// flipCode is OpenCV's flip code for flipH|flipV.
func flipCode(flips int) int {
	switch flips {
	case flipH:
		return 1
	case flipV:
		return 0
	}
	return -1
}

// crop returns the crop of pic as a view into it.
func (p *Pipeline) crop(pic gocv.Mat) gocv.Mat {
	if p.c.Crop.Empty() {
		return pic
	}
	return p.cropView.of(pic, p.cropRect)[0]
}

// mask fills the masks on pic: rectangles as views set to their colour
// (exact pixels, no antialiased edge), polygons with FillPoly.
func (p *Pipeline) mask(pic gocv.Mat) {
	if len(p.c.Masks) == 0 {
		return
	}
	rects := p.rectViews.of(pic, p.rects)
	for i, m := range p.c.Masks {
		if p.polys[i] != nil {
			gocv.FillPoly(&pic, p.polys[i], m.Color)
			continue
		}
		rects[p.rectIndex[i]].SetTo(p.fills[i])
	}
}

// check reports a crop or mask that does not fit a picture of the given
// size (rotated and flipped), and places the overlay.
func (p *Pipeline) check(size image.Point) error {
	frame := image.Rectangle{Max: size}
	if c := p.c.Crop; !c.Empty() {
		if !c.In(frame) {
			return fmt.Errorf("crop: %s does not fit the %d×%d picture%s", rect(c), size.X, size.Y, p.afterOrient())
		}
		frame = image.Rectangle{Max: c.Size()}
	}
	// A polygon's points may lie on the picture's edges (x = width, y =
	// height): they are corners, not pixels.
	corners := image.Rectangle{Max: frame.Max.Add(image.Pt(1, 1))}
	for i, m := range p.c.Masks {
		for _, pt := range m.Points {
			if !pt.In(corners) {
				return fmt.Errorf("masks[%d]: polygon point [%d, %d] is outside the %d×%d picture%s", i, pt.X, pt.Y, frame.Dx(), frame.Dy(), p.cropped())
			}
		}
		if b := m.Bounds(); len(m.Points) == 0 && !b.In(frame) {
			return fmt.Errorf("masks[%d]: %s does not fit the %d×%d picture%s", i, rect(b), frame.Dx(), frame.Dy(), p.cropped())
		}
	}
	if p.text != nil {
		p.text.place(frame.Size())
	}
	return nil
}

// afterOrient says which picture a crop is in.
func (p *Pipeline) afterOrient() string {
	if p.c.Rotate != 0 || p.c.Flip != config.FlipNone {
		return " (after rotate and flip)"
	}
	return ""
}

// cropped says which picture a mask is in.
func (p *Pipeline) cropped() string {
	if !p.c.Crop.Empty() {
		return " (after crop)"
	}
	return p.afterOrient()
}

// rect prints r as written in the camera file.
func rect(r image.Rectangle) string {
	return fmt.Sprintf("{x: %d, y: %d, width: %d, height: %d}", r.Min.X, r.Min.Y, r.Dx(), r.Dy())
}

// Close releases the pipeline's buffers.
func (p *Pipeline) Close() error {
	p.cropView.close()
	p.rectViews.close()
	if p.text != nil {
		p.text.close()
	}
	return p.oriented.Close()
}
