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
// so that it reads on any picture.
type overlay struct {
	cfg    config.Overlay
	layout timefmt.Layout
	buf    []byte
	text   string // the text last drawn, kept while the formatted bytes equal it

	// From the picture's size and the text.
	frame          image.Point
	scale          float64
	thick, outline int
	margin         int
	org            image.Point
	placed         string // text that org was computed for
}

// newOverlay returns the overlay of o for the camera cfg: {name} and {id}
// are filled in once, time fields on every frame.
func newOverlay(o config.Overlay, cfg config.Camera) *overlay {
	text := strings.NewReplacer("{name}", escape(cfg.Name), "{id}", cfg.ID).Replace(o.Text)
	layout, err := timefmt.Parse(text)
	if err != nil { // config validated the text; a name is escaped
		layout, _ = timefmt.Parse(escape(text))
	}
	return &overlay{cfg: o, layout: layout, buf: make([]byte, 0, 2*len(text)+32)}
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
	o.placed = ""
}

// draw draws the text for time now on pic.
func (o *overlay) draw(pic *gocv.Mat, now time.Time) {
	o.buf = o.layout.Append(o.buf[:0], now)
	if string(o.buf) != o.text {
		o.text = string(o.buf)
	}
	if o.text != o.placed {
		o.position()
	}
	gocv.PutText(pic, o.text, o.org, font, o.scale, color.RGBA{A: 255}, o.outline)
	gocv.PutText(pic, o.text, o.org, font, o.scale, color.RGBA{R: 255, G: 255, B: 255, A: 255}, o.thick)
}

// position computes where the text's baseline starts for its corner.
func (o *overlay) position() {
	size, baseline := gocv.GetTextSizeWithBaseline(o.text, font, o.scale, o.outline)
	pad := o.outline / 2
	x := o.margin + pad
	if o.cfg.Corner == config.TopRight || o.cfg.Corner == config.BottomRight {
		x = o.frame.X - o.margin - pad - size.X
	}
	y := o.margin + pad + size.Y
	if o.cfg.Corner == config.BottomLeft || o.cfg.Corner == config.BottomRight {
		y = o.frame.Y - o.margin - pad - baseline
	}
	o.org = image.Pt(max(x, 0), y)
	o.placed = o.text
}
