package picture

import (
	"image"
	"image/color"
	"strings"
	"time"

	"gocv.io/x/gocv"

	"github.com/camstream/camstream/services/capture/internal/config"
	"github.com/camstream/camstream/services/capture/internal/timefmt"
)

const font = gocv.FontHersheySimplex

// overlay is the text drawn on every frame, white with a black outline
// so that it reads on any picture. The text is drawn into a small stamp
// when it changes (once a second for a clock) and the stamp is copied
// onto each frame: a copy of the text's box, not a drawing.
type overlay struct {
	cfg    config.Overlay
	layout timefmt.Layout
	buf    []byte
	text   string // the text in the stamp

	// From the picture's size.
	frame          image.Point
	scale          float64
	thick, outline int
	margin         int

	box   image.Rectangle // where the stamp goes, in the picture
	stamp gocv.Mat        // the text's box: white text on black
	shape gocv.Mat        // where the stamp is copied: the outlined text
	view  views           // the box in the picture
	ready bool            // the stamp holds text for this frame size
}

// newOverlay returns the overlay of o for the camera cfg: {name} and {id}
// are filled in once, time fields on every frame.
func newOverlay(o config.Overlay, cfg config.Camera) *overlay {
	text := strings.NewReplacer("{name}", escape(cfg.Name), "{id}", cfg.ID).Replace(o.Text)
	layout, err := timefmt.Parse(text)
	if err != nil { // config validated the text; a name is escaped
		layout, _ = timefmt.Parse(escape(text))
	}
	return &overlay{cfg: o, layout: layout, buf: make([]byte, 0, 2*len(text)+32),
		stamp: gocv.NewMat(), shape: gocv.NewMat()}
}

// escape makes s print as itself through timefmt.
func escape(s string) string { return strings.ReplaceAll(s, "%", "%%") }

// place sizes the text for a picture of the given size: cfg.Size pixels
// high, or 1/24 of the picture's height (at least 12 pixels).
func (o *overlay) place(frame image.Point) {
	size := o.cfg.Size
	if size == 0 {
		size = max(frame.Y/24, 12)
	}
	unit := gocv.GetTextSize("0", font, 1, 1)
	o.frame = frame
	o.scale = float64(size) / float64(max(unit.Y, 1))
	o.thick = max(size/12, 1)
	o.outline = o.thick + max(size/8, 2)
	o.margin = max(size/2, 4)
	o.ready = false
}

// draw draws the text for time now on pic.
func (o *overlay) draw(pic *gocv.Mat, now time.Time) {
	o.buf = o.layout.Append(o.buf[:0], now)
	if !o.ready || string(o.buf) != o.text {
		o.render(string(o.buf))
	}
	if o.box.Empty() {
		return
	}
	view := o.view.of(*pic, []image.Rectangle{o.box})[0]
	o.stamp.CopyToWithMask(&view, o.shape)
}

// render draws text into the stamp, at its corner of the picture.
func (o *overlay) render(text string) {
	o.text, o.ready = text, true
	size, baseline := gocv.GetTextSizeWithBaseline(text, font, o.scale, o.outline)
	pad := o.outline/2 + 1
	x := o.margin
	if o.cfg.Corner == config.TopRight || o.cfg.Corner == config.BottomRight {
		x = o.frame.X - o.margin - size.X
	}
	y := o.margin + size.Y
	if o.cfg.Corner == config.BottomLeft || o.cfg.Corner == config.BottomRight {
		y = o.frame.Y - o.margin - baseline
	}
	org := image.Pt(max(x, 0), y)
	box := image.Rect(org.X-pad, org.Y-size.Y-pad, org.X+size.X+pad, org.Y+baseline+pad)
	box = box.Intersect(image.Rectangle{Max: o.frame})
	if box != o.box {
		o.view.close() // the views were of the old box
		o.box = box
	}
	if box.Empty() {
		return
	}
	at := org.Sub(box.Min)
	o.stamp.Close()
	o.shape.Close()
	o.stamp = gocv.NewMatWithSize(box.Dy(), box.Dx(), gocv.MatTypeCV8UC3)
	o.shape = gocv.NewMatWithSize(box.Dy(), box.Dx(), gocv.MatTypeCV8UC1)
	o.stamp.SetTo(gocv.Scalar{})
	o.shape.SetTo(gocv.Scalar{})
	gocv.PutText(&o.shape, text, at, font, o.scale, color.RGBA{R: 255, G: 255, B: 255, A: 255}, o.outline)
	gocv.PutText(&o.stamp, text, at, font, o.scale, color.RGBA{R: 255, G: 255, B: 255, A: 255}, o.thick)
}

func (o *overlay) close() {
	o.view.close()
	o.stamp.Close()
	o.shape.Close()
}
