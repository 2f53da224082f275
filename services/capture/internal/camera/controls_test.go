package camera

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/camstream/camstream/services/capture/internal/config"
)

// decode decodes a frame's JPEG.
func decode(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("frame is not a JPEG: %v", err)
	}
	return img
}

// near reports whether c is within tol of want in each of R, G and B.
func near(c color.Color, want color.RGBA, tol int) bool {
	r, g, b, _ := c.RGBA()
	d := func(v uint32, w uint8) bool { x := int(v>>8) - int(w); return x >= -tol && x <= tol }
	return d(r, want.R) && d(g, want.G) && d(b, want.B)
}

// The SMPTE pattern's top-right bar is its only blue one: after a rotate
// it is found where that corner goes, and the picture's width and height
// swap for 90 and 270.
func TestRotatePattern(t *testing.T) {
	blue := color.RGBA{B: 191}
	tests := []struct {
		rotate   int
		size     image.Point
		blueAt   image.Point // source (620, 20), in the top-right bar
		notBlue  image.Point
		greyAt   image.Point // source (20, 200), in the top-left bar below the text
		greyWant color.RGBA
	}{
		{0, image.Pt(640, 360), image.Pt(620, 20), image.Pt(20, 20), image.Pt(20, 200), color.RGBA{191, 191, 191, 0}},
		{90, image.Pt(360, 640), image.Pt(339, 620), image.Pt(20, 20), image.Pt(159, 20), color.RGBA{191, 191, 191, 0}},
		{180, image.Pt(640, 360), image.Pt(19, 339), image.Pt(620, 20), image.Pt(619, 159), color.RGBA{191, 191, 191, 0}},
		{270, image.Pt(360, 640), image.Pt(20, 19), image.Pt(339, 620), image.Pt(200, 619), color.RGBA{191, 191, 191, 0}},
	}
	for _, tt := range tests {
		t.Run("rotate "+strconv.Itoa(tt.rotate), func(t *testing.T) {
			cfg := testCamera(t, "cam", "test://smpte")
			cfg.FPS = 30
			cfg.Controls.Rotate = tt.rotate
			c := New(cfg, quietOptions())
			run(t, c)
			f := frames(t, c, 3)[2]
			img := decode(t, f.jpeg)
			if got := img.Bounds().Size(); got != tt.size || f.w != got.X || f.h != got.Y {
				t.Fatalf("JPEG %v, frame says %d×%d, want %v", got, f.w, f.h, tt.size)
			}
			if c := img.At(tt.blueAt.X, tt.blueAt.Y); !near(c, blue, 24) {
				t.Errorf("pixel %v = %v, want the blue bar %v", tt.blueAt, c, blue)
			}
			if c := img.At(tt.notBlue.X, tt.notBlue.Y); near(c, blue, 24) {
				t.Errorf("pixel %v = %v is the blue bar, want it elsewhere", tt.notBlue, c)
			}
			if c := img.At(tt.greyAt.X, tt.greyAt.Y); !near(c, tt.greyWant, 24) {
				t.Errorf("pixel %v = %v, want the grey bar %v", tt.greyAt, c, tt.greyWant)
			}
		})
	}
}

func itoa(n int) string {
	return string(rune('0'+n/100%10)) + string(rune('0'+n/10%10)) + string(rune('0'+n%10))
}

// maskedCamera is the SMPTE pattern (640×360, text at its top left) with
// a brown mask over the text and the bars.
func maskedCamera(t *testing.T) (config.Camera, image.Rectangle, color.RGBA) {
	cfg := testCamera(t, "cam", "test://smpte")
	cfg.FPS = 30
	brown := color.RGBA{R: 128, G: 96, B: 64, A: 255} // a colour the pattern has not
	r := image.Rect(8, 8, 360, 280)
	cfg.Controls.Masks = []config.Mask{{Rect: r, Color: brown}}
	return cfg, r, brown
}

// checkMasked fails unless the mask r (in full-size pixels of a picture
// fullW wide) is uniformly col in img, allowing JPEG's blur at its edges.
func checkMasked(t *testing.T, what string, img image.Image, fullW int, r image.Rectangle, col color.RGBA) {
	t.Helper()
	s := float64(img.Bounds().Dx()) / float64(fullW)
	// JPEG blurs colour within its 16×16 blocks: check the blocks wholly
	// inside the mask (less one pixel of resize blur).
	in := image.Rect(int(float64(r.Min.X)*s)+1, int(float64(r.Min.Y)*s)+1, int(float64(r.Max.X)*s)-1, int(float64(r.Max.Y)*s)-1)
	in = image.Rect((in.Min.X+15)/16*16, (in.Min.Y+15)/16*16, in.Max.X/16*16, in.Max.Y/16*16)
	if in.Dx() < 32 || in.Dy() < 32 {
		t.Fatalf("%s: the mask's inner blocks %v are too small to check", what, in)
	}
	bad := 0
	for y := in.Min.Y; y < in.Max.Y; y++ {
		for x := in.Min.X; x < in.Max.X; x++ {
			if c := img.At(x, y); !near(c, col, 12) {
				if bad++; bad == 1 {
					t.Errorf("%s: pixel (%d,%d) = %v, want the mask's %v", what, x, y, c, col)
				}
			}
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d pixels inside the mask %v are not its colour", what, bad, in.Dx()*in.Dy(), in)
	}
}

// A masked rectangle is the mask's colour in the full size, the latest
// frame (a snapshot) and every smaller size.
func TestMaskInEverySize(t *testing.T) {
	cfg, r, brown := maskedCamera(t)
	c := New(cfg, quietOptions())
	run(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for _, w := range []int{0, 480, 320, 160} {
		feed, release, err := c.SubscribeWidth(w)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		f, err := feed.Next(ctx, 0)
		if err != nil {
			t.Fatalf("width %d: %v", w, err)
		}
		img := decode(t, f.JPEG)
		if w != 0 && img.Bounds().Dx() != w {
			t.Fatalf("width %d: frame %d wide", w, img.Bounds().Dx())
		}
		checkMasked(t, "width "+strconv.Itoa(w), img, 640, r, brown)
		if snap, _ := feed.Latest(); snap != nil {
			checkMasked(t, "snapshot at width "+strconv.Itoa(w), decode(t, snap.JPEG), 640, r, brown)
		}
	}
}

// A mask outside the picture fails the camera on its first frame with an
// error naming the field.
func TestControlsOutsideFrameFailCamera(t *testing.T) {
	cfg := testCamera(t, "cam", "test://smpte")
	cfg.FPS = 30
	cfg.Controls.Crop = image.Rect(0, 0, 1000, 100)
	c := New(cfg, quietOptions())
	run(t, c)
	waitState(t, c, StateFailed)
	want := `camera "cam": crop: {x: 0, y: 0, width: 1000, height: 100} does not fit the 640×360 picture`
	if got := c.Status().LastError; !strings.Contains(got, want) {
		t.Errorf("last error = %q, want %q", got, want)
	}
	if f, _ := c.Latest(); f != nil {
		t.Errorf("a frame (%d×%d) left capture from a camera whose crop does not fit", f.Width, f.Height)
	}
}

// stillFile makes a video of one still picture (every frame the same
// bytes), or skips when ffmpeg is missing.
func stillFile(t *testing.T) string {
	t.Helper()
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg is not installed: run 'make deps'")
	}
	dir := t.TempDir()
	png, avi := filepath.Join(dir, "still.png"), filepath.Join(dir, "still.avi")
	for _, args := range [][]string{
		{"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=1", "-frames:v", "1", png},
		{"-loop", "1", "-framerate", "20", "-i", png, "-t", "3", "-c:v", "mjpeg", "-q:v", "3", avi},
	} {
		if out, err := exec.Command(ffmpeg, append([]string{"-loglevel", "error", "-y"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg: %v: %s", err, out)
		}
	}
	return avi
}

// On a still source, the overlay's time changes its area from second to
// second and nothing else in the picture changes.
func TestOverlayChangesOnlyItsArea(t *testing.T) {
	cfg := testCamera(t, "cam", "file:"+stillFile(t))
	cfg.Controls.Overlay = config.Overlay{Text: "{name} %Y-%m-%d %H:%M:%S", Corner: config.TopLeft, Size: 24}
	c := New(cfg, quietOptions())
	run(t, c)
	release := c.Subscribe()
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	first, err := c.Next(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	next := first
	for next.CapturedAt.Unix() == first.CapturedAt.Unix() {
		if next, err = c.Next(ctx, next.Seq); err != nil {
			t.Fatal(err)
		}
	}
	a, b := decode(t, first.JPEG), decode(t, next.JPEG)
	const band = 64 // the text's rows, rounded up to JPEG's 16-pixel blocks
	textDiff, restDiff := maxDiff(a, b, image.Rect(0, 0, 640, band)), maxDiff(a, b, image.Rect(0, band, 640, 360))
	if textDiff < 100 {
		t.Errorf("overlay area differs by at most %d between %v and %v, want the time to change it", textDiff, first.CapturedAt, next.CapturedAt)
	}
	if restDiff > 2 {
		t.Errorf("the still picture outside the overlay differs by %d between frames, want unchanged", restDiff)
	}
}

// maxDiff is the largest difference of one colour channel between a and b
// within r.
func maxDiff(a, b image.Image, r image.Rectangle) int {
	worst := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			for _, d := range []int{int(r1>>8) - int(r2>>8), int(g1>>8) - int(g2>>8), int(b1>>8) - int(b2>>8)} {
				worst = max(worst, d, -d)
			}
		}
	}
	return worst
}
