package camera

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"sync/atomic"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/camstream/camstream/services/capture/internal/config"
	"github.com/camstream/camstream/services/capture/internal/source"
)

// jpegs returns n distinct real JPEGs of a w×h picture.
func jpegs(t *testing.T, n, w, h int) [][]byte {
	t.Helper()
	out := make([][]byte, n)
	for i := range out {
		m := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(float64(40*i), 100, 200, 0), h, w, gocv.MatTypeCV8UC3)
		gocv.Rectangle(&m, image.Rect(10*i, 10, 10*i+50, 60), color.RGBA{255, 255, 255, 0}, -1)
		b, err := gocv.IMEncode(gocv.JPEGFileExt, m)
		m.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[i] = b
	}
	return out
}

// fakeJPEG is a Motion JPEG camera: it sends packets in a loop.
type fakeJPEG struct {
	packets [][]byte
	n       atomic.Int64
}

func (f *fakeJPEG) ReadJPEG(ctx context.Context) ([]byte, error) {
	select {
	case <-time.After(5 * time.Millisecond):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	n := f.n.Add(1) - 1
	return bytes.Clone(f.packets[n%int64(len(f.packets))]), nil
}

func (f *fakeJPEG) Read(ctx context.Context, dst *gocv.Mat) error {
	b, err := f.ReadJPEG(ctx)
	if err != nil {
		return err
	}
	pic, err := gocv.IMDecode(b, gocv.IMReadColor)
	if err != nil || pic.Empty() {
		return errors.New("not a JPEG")
	}
	defer pic.Close()
	pic.CopyTo(dst)
	return nil
}

func (f *fakeJPEG) Close() error { return nil }

// decodingOnly hides ReadJPEG: a source opened without Options.JPEG.
type decodingOnly struct{ f *fakeJPEG }

func (d decodingOnly) Read(ctx context.Context, dst *gocv.Mat) error { return d.f.Read(ctx, dst) }

func (d decodingOnly) Close() error { return nil }

var _ source.JPEGReader = (*fakeJPEG)(nil)

// openJPEG opens a fakeJPEG as source.Open would: a JPEGReader only when
// the camera asks for JPEG.
func openJPEG(packets [][]byte) OpenFunc {
	return func(_ context.Context, _ config.Source, opts source.Options) (source.Source, error) {
		f := &fakeJPEG{packets: packets}
		if !opts.JPEG {
			return decodingOnly{f}, nil
		}
		return f, nil
	}
}

type encodeCounter struct{ n atomic.Int64 }

func (e *encodeCounter) FrameEncoded(string, time.Duration, int) { e.n.Add(1) }

func contains(set [][]byte, b []byte) bool {
	for _, s := range set {
		if bytes.Equal(s, b) {
			return true
		}
	}
	return false
}

// A JPEG camera with nothing set passes its frames through untouched and
// encodes nothing; with a quality set it decodes and re-encodes them.
func TestPassThrough(t *testing.T) {
	packets := jpegs(t, 3, 800, 600)
	for _, tt := range []struct {
		name       string
		qualitySet bool
		wantPass   bool
	}{{"nothing set", false, true}, {"quality set", true, false}} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testCamera(t, "cam", "http://cam.local/video.mjpg")
			cfg.Quality, cfg.QualitySet = 70, tt.qualitySet
			opts := quietOptions()
			opts.Open = openJPEG(packets)
			enc := &encodeCounter{}
			opts.Observer = enc
			c := New(cfg, opts)
			run(t, c)
			for i, f := range frames(t, c, 10) {
				if contains(packets, f.jpeg) != tt.wantPass || f.w != 800 || f.h != 600 {
					t.Fatalf("frame %d: %dx%d, camera's own bytes %v; want 800x600, %v",
						i+1, f.w, f.h, contains(packets, f.jpeg), tt.wantPass)
				}
			}
			if got := c.Status().PassThrough; got != tt.wantPass {
				t.Errorf("Status().PassThrough = %v, want %v", got, tt.wantPass)
			}
			if n := enc.n.Load(); (n == 0) != tt.wantPass {
				t.Errorf("%d frames encoded, want none only when passing through (%v)", n, tt.wantPass)
			}
		})
	}
}

// A smaller size of a passed-through camera is decoded and encoded at its
// width, while the full size stays the camera's bytes.
func TestPassThroughSmallerSize(t *testing.T) {
	packets := jpegs(t, 3, 1280, 960) // 320 and 640 are a quarter and half
	opts := quietOptions()
	opts.Open = openJPEG(packets)
	c := New(testCamera(t, "cam", "http://cam.local/video.mjpg"), opts)
	run(t, c)
	frames(t, c, 1) // the camera's size is known
	for _, want := range []int{320, 640} {
		feed, release, err := c.SubscribeWidth(want)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		f, err := feed.Next(ctx, 0)
		cancel()
		release()
		if err != nil {
			t.Fatalf("width %d: %v", want, err)
		}
		pic, err := gocv.IMDecode(f.JPEG, gocv.IMReadColor)
		if err != nil {
			t.Fatal(err)
		}
		got := image.Pt(pic.Cols(), pic.Rows())
		pic.Close()
		if wantSize := image.Pt(want, want*3/4); got != wantSize || f.Width != want || contains(packets, f.JPEG) {
			t.Errorf("width %d: a %v JPEG (frame says %dx%d), camera's bytes %v; want %v, re-encoded",
				want, got, f.Width, f.Height, contains(packets, f.JPEG), wantSize)
		}
	}
	if f := frames(t, c, 1)[0]; !contains(packets, f.jpeg) {
		t.Errorf("full size is no longer the camera's bytes")
	}
}

// A packet that is not a whole JPEG ends passthrough for the session: the
// camera goes on streaming decoded and re-encoded frames.
func TestPassThroughFallsBackToDecoding(t *testing.T) {
	good := jpegs(t, 2, 320, 240)
	cut := good[1][:len(good[1])/2] // decodable in part, but not whole
	packets := [][]byte{good[0], good[0], cut, good[0], good[1]}
	opts := quietOptions()
	opts.Open = openJPEG(packets)
	c := New(testCamera(t, "cam", "http://cam.local/video.mjpg"), opts)
	run(t, c)
	deadline := time.Now().Add(wait)
	for c.Status().PassThrough || c.Status().Frames < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("status %+v: still passing through after a cut packet", c.Status())
		}
		time.Sleep(5 * time.Millisecond)
	}
	for i, f := range frames(t, c, 5) {
		if contains(packets, f.jpeg) || f.w != 320 || f.h != 240 {
			t.Fatalf("frame %d after the fallback: %dx%d, camera's bytes %v; want 320x240 re-encoded",
				i+1, f.w, f.h, contains(packets, f.jpeg))
		}
	}
	if st := c.Status(); st.State != StateStreaming {
		t.Errorf("state %v (%s), want streaming", st.State, st.LastError)
	}
}

// The reduced decode is the smallest JPEG scale still as wide as wanted.
func TestReducedFlag(t *testing.T) {
	for _, tt := range []struct {
		w, want int
		flag    gocv.IMReadFlag
	}{
		{1920, 160, gocv.IMReadReducedColor8},
		{1280, 160, gocv.IMReadReducedColor8},
		{1280, 320, gocv.IMReadReducedColor4},
		{1280, 640, gocv.IMReadReducedColor2},
		{1280, 960, gocv.IMReadColor},
		{800, 320, gocv.IMReadReducedColor2},
		{800, 640, gocv.IMReadColor},
	} {
		if got := reducedFlag(tt.w, tt.want); got != tt.flag {
			t.Errorf("reducedFlag(%d, %d) = %d, want %d", tt.w, tt.want, got, tt.flag)
		}
	}
}
