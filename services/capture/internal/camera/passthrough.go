package camera

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gocv.io/x/gocv"

	"github.com/camstream/camstream/services/capture/internal/config"
	"github.com/camstream/camstream/services/capture/internal/hub"
	"github.com/camstream/camstream/services/capture/internal/jpegsof"
	"github.com/camstream/camstream/services/capture/internal/pace"
	"github.com/camstream/camstream/services/capture/internal/source"
)

// errDecode ends passing through: the source sent something that is not
// one whole JPEG, so the session goes on decoding its frames.
var errDecode = errors.New("passthrough: decode from now on")

// tryPassThrough runs the session's capture as passthrough when src gives
// the camera's own JPEG frames (opened so because the camera's settings
// allow it). done is false when the session must decode and encode
// instead: src is no JPEGReader, or it sent a packet that is not a JPEG.
func (c *Camera) tryPassThrough(ctx context.Context, cfg config.Camera, src source.Source,
	reads *readClock, first *time.Time) (done bool, err error) {
	jr, ok := src.(source.JPEGReader)
	if !ok {
		c.passing.Store(false)
		return false, nil
	}
	c.passing.Store(true)
	err = c.passThrough(ctx, cfg, jr, reads, first)
	if errors.Is(err, errDecode) {
		c.passing.Store(false)
		return false, nil
	}
	return true, err
}

// passThrough publishes each frame of src as the bytes the camera sent,
// without decoding it, until the source fails (err), ctx ends or an
// on-demand camera is no longer wanted (nil), or a packet is not one
// whole JPEG (errDecode). Only a watched smaller size needs pixels: then
// the frame is decoded, at a reduced scale when that is still wide enough.
func (c *Camera) passThrough(ctx context.Context, cfg config.Camera, src source.JPEGReader,
	reads *readClock, first *time.Time) error {
	small, scratch := gocv.NewMat(), gocv.NewMat()
	defer small.Close()
	defer scratch.Close()
	pacer := pace.New(cfg.FPS)
	params := []int{gocv.IMWriteJpegQuality, cfg.Quality}
	var b []byte
	read := func() (err error) {
		b, err = src.ReadJPEG(ctx)
		return err
	}
	wanted := c.wantedFunc(cfg)
	for {
		now, ok, err := nextFrame(ctx, read, reads, &pacer, wanted)
		if !ok {
			return err
		}
		info, err := jpegsof.Parse(b)
		if err != nil {
			c.log.Warn("camera sent a packet that is not one whole JPEG: decoding and re-encoding its frames from now on",
				"error", err, "bytes", len(b))
			return errDecode
		}
		f := &hub.Frame{JPEG: b, Width: info.Width, Height: info.Height, CapturedAt: now}
		c.hub.Publish(f)
		if first.IsZero() {
			*first = now
		}
		c.published(f)
		if err := c.passSizes(f, params, &small, &scratch); err != nil {
			return err
		}
	}
}

// passSizes publishes the watched smaller sizes of a passed-through frame:
// it decodes the frame only when some size is narrower than it, at the
// largest JPEG scale (1/8, 1/4, 1/2) still at least as wide as the widest
// such size, which costs a fraction of a full decode.
func (c *Camera) passSizes(full *hub.Frame, params []int, small, scratch *gocv.Mat) error {
	p := c.watched.Load()
	if p == nil || len(*p) == 0 {
		return nil
	}
	widest := 0
	for _, s := range *p {
		if s.width < full.Width {
			widest = max(widest, s.width)
		}
	}
	pic := gocv.NewMat() // no size below the camera's: encodeSizes reads no pixel
	if widest > 0 {
		pic.Close()
		var err error
		pic, err = gocv.IMDecode(full.JPEG, reducedFlag(full.Width, widest))
		if err != nil || pic.Empty() {
			pic.Close()
			return fmt.Errorf("decode the camera's JPEG for a smaller size: %v", err)
		}
	}
	defer pic.Close()
	return c.encodeSizes(pic, full, params, small, scratch)
}

// reducedFlag is the IMDecode flag that decodes a JPEG w pixels wide at
// the smallest scale still at least want pixels wide.
func reducedFlag(w, want int) gocv.IMReadFlag {
	for _, r := range []struct {
		scale int
		flag  gocv.IMReadFlag
	}{{8, gocv.IMReadReducedColor8}, {4, gocv.IMReadReducedColor4}, {2, gocv.IMReadReducedColor2}} {
		if w/r.scale >= want {
			return r.flag
		}
	}
	return gocv.IMReadColor
}
