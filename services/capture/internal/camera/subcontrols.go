package camera

import (
	"fmt"
	"image"
	"math"
	"time"

	"gocv.io/x/gocv"

	"github.com/camstream/camstream/services/capture/internal/config"
	"github.com/camstream/camstream/services/capture/internal/picture"
)

// maxAspectDiff is how far a sub-stream's aspect ratio may differ from
// the main stream's for a camera with picture controls to use it.
const maxAspectDiff = 0.01

// subControls applies a camera's picture controls to its sub-stream's
// pictures, scaled from the main stream's picture size to the
// sub-stream's: rebuilt when either size changes.
type subControls struct {
	cfg       config.Camera
	main, sub image.Point
	controls  *picture.Pipeline
	zero      bool
}

func newSubControls(cfg config.Camera) *subControls {
	return &subControls{cfg: cfg, zero: cfg.Controls.IsZero()}
}

// apply returns pic, a sub-stream picture, with the controls scaled from
// main, the main stream's source picture size, applied (see
// picture.Pipeline.Apply).
func (sc *subControls) apply(main image.Point, pic gocv.Mat, now time.Time) (gocv.Mat, error) {
	if sc.zero {
		return pic, nil
	}
	sub := image.Pt(pic.Cols(), pic.Rows())
	if sc.controls == nil || main != sc.main || sub != sc.sub {
		sc.Close()
		cfg := sc.cfg
		cfg.Controls = cfg.Controls.Scaled(oriented(main, cfg.Controls), oriented(sub, cfg.Controls))
		sc.controls, sc.main, sc.sub = picture.New(cfg), main, sub
	}
	out, err := sc.controls.Apply(pic, now)
	if err != nil {
		return gocv.Mat{}, fmt.Errorf("sub_source: picture controls scaled to %d×%d: %w", sub.X, sub.Y, err)
	}
	return out, nil
}

// Close releases the pipeline.
func (sc *subControls) Close() {
	if sc.controls != nil {
		sc.controls.Close()
		sc.controls = nil
	}
}

// oriented is the size of a picture of size p after c's rotation.
func oriented(p image.Point, c config.Controls) image.Point {
	if c.Rotate == 90 || c.Rotate == 270 {
		return image.Pt(p.Y, p.X)
	}
	return p
}

// aspectDiffers reports whether a and b's aspect ratios differ by more
// than maxAspectDiff.
func aspectDiffers(a, b image.Point) bool {
	ra, rb := float64(a.X)/float64(a.Y), float64(b.X)/float64(b.Y)
	return math.Abs(ra-rb)/rb > maxAspectDiff
}

// sourceSized records the size of the main stream's source pictures,
// before the picture controls: the sub-stream's controls are scaled from
// it. An unknown size (0×0) stops the sub-stream making sizes for a
// camera with controls.
func (c *Camera) sourceSized(w, h int) {
	v := uint64(w)<<32 | uint64(uint32(h))
	if old := c.mainSize.Swap(v); old != v && old == 0 {
		c.wakeSub()
		c.wakeMain()
	}
}

// sourceSize is the main stream's recorded source picture size, 0×0
// while not known.
func (c *Camera) sourceSize() image.Point {
	v := c.mainSize.Load()
	return image.Pt(int(v>>32), int(uint32(v)))
}

// subBlocked returns why the sub-stream may not make sizes now, "" when
// it may: its controls cannot be scaled while the main stream's picture
// size is not known, nor when its aspect ratio differs. Called with s.mu
// held.
func (c *Camera) subBlocked(s *subStream) string {
	if s.mismatch != "" {
		return s.mismatch
	}
	if !s.controls || c.mainSize.Load() != 0 {
		return ""
	}
	return "the main stream's picture size is not known yet, so the picture controls cannot be scaled to the sub-stream: the main stream makes the smaller sizes"
}

// subUsable checks the sub-stream's picture of size sub against main, the
// main stream's source picture size, before it makes sizes: false while
// it may not (see subBlocked). A sub-stream whose aspect ratio differs
// from the main stream's is not used again until the camera's settings
// change.
func (c *Camera) subUsable(s *subStream, sub, main image.Point) bool {
	s.mu.Lock()
	blocked := c.subBlocked(s)
	if s.controls && (main.X <= 0 || main.Y <= 0) {
		s.mu.Unlock()
		return false
	}
	if blocked == "" && s.controls && aspectDiffers(sub, main) {
		s.mismatch = fmt.Sprintf("the sub-stream's %d×%d pictures differ in aspect ratio from the main stream's %d×%d, so the picture controls cannot be scaled to them: the main stream makes the smaller sizes",
			sub.X, sub.Y, main.X, main.Y)
		s.state, s.lastErr = StateIdle, s.mismatch
		s.lastWanted.Store(0)
		s.mu.Unlock()
		c.log.Warn("camera sub-stream not used: its aspect ratio differs from the main stream's",
			"sub_width", sub.X, "sub_height", sub.Y, "width", main.X, "height", main.Y)
		c.wakeMain()
		return false
	}
	s.mu.Unlock()
	return blocked == ""
}
