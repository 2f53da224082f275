// Package source opens a camera's input behind one small interface: network
// streams (rtsp://, rtsps://, http(s):// MJPEG) and files through OpenCV's
// FFmpeg backend, local V4L2 devices, and a built-in test pattern drawn with
// OpenCV.
package source

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"gocv.io/x/gocv"

	"github.com/camstream/camstream/services/capture/internal/config"
)

// Source is an open camera input. It is used by one goroutine at a time.
type Source interface {
	// Read decodes the next frame into dst (8-bit BGR), reusing its memory.
	// It blocks until a frame is ready. Streams and devices cannot be
	// interrupted mid-read (OpenCV has no way to), so for them ctx is only
	// checked between frames; a stalled stream returns an error after the
	// FFmpeg timeouts set by FFmpegEnv.
	Read(ctx context.Context, dst *gocv.Mat) error
	// Close releases the input.
	Close() error
}

// Options are what a source needs besides its address.
type Options struct {
	// Name is drawn on the test pattern.
	Name string
	// Width is the test pattern's width (its height follows at 16:9);
	// 0 means 640.
	Width int
	// FPS is the test pattern's frame rate; 0 means 30.
	FPS float64
	// JPEG asks a stream or file whose video is Motion JPEG for its JPEG
	// frames as they come: the source is then a JPEGReader.
	JPEG bool
}

// ErrNoFrame is returned (wrapped) when a stream or device ends or stops
// delivering frames.
var ErrNoFrame = errors.New("no frame")

// Open opens src. Errors name the source only in its redacted form.
func Open(ctx context.Context, src config.Source, opts Options) (Source, error) {
	switch src.Kind {
	case config.KindTest:
		return newPattern(src.Pattern, opts), nil
	case config.KindURL:
		return openCapture(src, false, opts.JPEG, func() (*gocv.VideoCapture, error) {
			return gocv.VideoCaptureFileWithAPI(src.Raw(), gocv.VideoCaptureFFmpeg)
		})
	case config.KindFile:
		info, err := os.Stat(src.Path)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", src, err)
		}
		if info.Size() == 0 {
			return nil, fmt.Errorf("open %s: the file is empty", src)
		}
		return openCapture(src, true, opts.JPEG, func() (*gocv.VideoCapture, error) {
			return gocv.VideoCaptureFileWithAPI(src.Path, gocv.VideoCaptureFFmpeg)
		})
	case config.KindDevice:
		if _, err := os.Stat(fmt.Sprintf("/dev/video%d", src.Device)); err != nil {
			return nil, fmt.Errorf("open %s: %w", src, err)
		}
		// V4L2 has no raw-packet mode like FFmpeg's: devices are decoded.
		return openCapture(src, false, false, func() (*gocv.VideoCapture, error) {
			return gocv.VideoCaptureDeviceWithAPI(src.Device, gocv.VideoCaptureV4L2)
		})
	}
	return nil, fmt.Errorf("open %s: unsupported source kind %d", src, src.Kind)
}

// capture is a source read through an OpenCV VideoCapture.
type capture struct {
	vc   *gocv.VideoCapture
	name string // redacted, for errors
	file bool   // loop at the end and pace at the file's frame rate
	wait ticker
}

func openCapture(src config.Source, file, jpeg bool, open func() (*gocv.VideoCapture, error)) (Source, error) {
	vc, err := open()
	if err != nil || !vc.IsOpened() {
		// gocv's error repeats the raw URL, password included: drop it.
		if vc != nil {
			vc.Close()
		}
		what := "the stream did not open (unreachable, refused, wrong path or credentials, or unsupported format)"
		switch src.Kind {
		case config.KindFile:
			what = "not a video file FFmpeg can read"
		case config.KindDevice:
			what = "the device did not open (busy, not a camera, or no permission)"
		}
		return nil, fmt.Errorf("open %s: %s", src, what)
	}
	c := &capture{vc: vc, name: src.String(), file: file}
	if file {
		fps := vc.Get(gocv.VideoCaptureFPS)
		if !(fps > 0 && fps <= config.MaxFPS) {
			fps = 25
		}
		c.wait = newTicker(fps)
	}
	if jpeg {
		return asRawJPEG(c), nil
	}
	return c, nil
}

func (c *capture) Read(ctx context.Context, dst *gocv.Mat) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.file {
		if err := c.wait.wait(ctx); err != nil {
			return err
		}
	}
	if c.vc.Read(dst) && !dst.Empty() {
		return nil
	}
	if !c.file {
		return fmt.Errorf("read %s: %w (stream ended, lost or timed out)", c.name, ErrNoFrame)
	}
	// End of file: play it again.
	c.vc.Set(gocv.VideoCapturePosFrames, 0)
	if c.vc.Read(dst) && !dst.Empty() {
		return nil
	}
	return fmt.Errorf("read %s: %w (cannot rewind the file)", c.name, ErrNoFrame)
}

func (c *capture) Close() error {
	return c.vc.Close()
}

// ticker paces reads at a fixed rate, catching up after short delays and
// starting over after long ones.
type ticker struct {
	interval time.Duration
	next     time.Time
}

func newTicker(fps float64) ticker {
	return ticker{interval: time.Duration(float64(time.Second) / fps)}
}

// wait blocks until the next frame is due.
func (t *ticker) wait(ctx context.Context) error {
	now := time.Now()
	if t.next.IsZero() || now.Sub(t.next) > time.Second {
		t.next = now
	}
	if d := t.next.Sub(now); d > 0 {
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	t.next = t.next.Add(t.interval)
	return nil
}
