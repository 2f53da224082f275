package config

import (
	"image"
	"math"
)

// Scaled returns the controls for a picture of size to, oriented (rotated
// and flipped) like the picture of size from that c is written for: the
// same picture at another resolution, such as a camera's sub-stream. The
// crop, masks and overlay size are scaled by to/from on each axis. A crop
// is rounded inwards and kept inside the picture, so it never shows more
// than the original; a mask is rounded outwards (its start down, its end
// up; a polygon's points away from the centre of its bounds), so it covers
// at least the scaled area, and clipped to the cropped picture. The
// overlay keeps a readable size. from and to must be positive.
func (c Controls) Scaled(from, to image.Point) Controls {
	if c.IsZero() || from == to {
		return c
	}
	s := scaler{kx: float64(to.X) / float64(from.X), ky: float64(to.Y) / float64(from.Y)}
	out := Controls{Rotate: c.Rotate, Flip: c.Flip, Overlay: c.Overlay}
	frame := image.Rectangle{Max: to}
	origin, orig := image.Point{}, image.Point{}
	if !c.Crop.Empty() {
		out.Crop = s.inwards(c.Crop, to)
		frame = image.Rectangle{Max: out.Crop.Size()}
		origin, orig = out.Crop.Min, c.Crop.Min
	}
	for _, m := range c.Masks {
		out.Masks = append(out.Masks, s.mask(m, orig, origin, frame))
	}
	if c.Overlay.Size != 0 {
		out.Overlay.Size = min(max(int(math.Round(float64(c.Overlay.Size)*s.ky)), MinOverlaySize), MaxOverlaySize)
	}
	return out
}

// scaler scales pixel positions by kx, ky.
type scaler struct{ kx, ky float64 }

// inwards scales r, rounding its start up and its end down, inside a
// picture of size size; an axis that would be empty keeps the pixel at
// its scaled centre.
func (s scaler) inwards(r image.Rectangle, size image.Point) image.Rectangle {
	x0, x1 := inwards(r.Min.X, r.Max.X, s.kx, size.X)
	y0, y1 := inwards(r.Min.Y, r.Max.Y, s.ky, size.Y)
	return image.Rectangle{Min: image.Pt(x0, y0), Max: image.Pt(x1, y1)}
}

func inwards(a, b int, k float64, size int) (int, int) {
	lo, hi := max(ceil(float64(a)*k), 0), min(floor(float64(b)*k), size)
	if lo >= hi {
		lo = min(max(floor(float64(a+b)*k/2), 0), size-1)
		hi = lo + 1
	}
	return lo, hi
}

// outwards scales r, rounding its start down and its end up.
func (s scaler) outwards(r image.Rectangle) image.Rectangle {
	return image.Rect(floor(float64(r.Min.X)*s.kx), floor(float64(r.Min.Y)*s.ky),
		ceil(float64(r.Max.X)*s.kx), ceil(float64(r.Max.Y)*s.ky))
}

// mask scales m, written in a picture cropped at orig, for the scaled
// picture cropped at origin and of size frame: scaled in the uncropped
// picture's pixels, so that rounding the crop cannot move it.
func (s scaler) mask(m Mask, orig, origin image.Point, frame image.Rectangle) Mask {
	out := Mask{Color: m.Color}
	if len(m.Points) == 0 {
		out.Rect = s.outwards(m.Rect.Add(orig)).Sub(origin).Intersect(frame)
		return out
	}
	b := m.Bounds()
	cx, cy := float64(b.Min.X+b.Max.X-1)/2, float64(b.Min.Y+b.Max.Y-1)/2
	last := frame.Max.Sub(image.Pt(1, 1)) // a point covers its pixel
	for _, p := range m.Points {
		x := away(float64(p.X+orig.X)*s.kx, float64(p.X) < cx) - origin.X
		y := away(float64(p.Y+orig.Y)*s.ky, float64(p.Y) < cy) - origin.Y
		out.Points = append(out.Points, image.Pt(min(max(x, 0), last.X), min(max(y, 0), last.Y)))
	}
	return out
}

// away rounds v down when below is set, else up.
func away(v float64, below bool) int {
	if below {
		return floor(v)
	}
	return ceil(v)
}

// floor and ceil round v to a pixel, forgiving float error.
func floor(v float64) int { return int(math.Floor(v + 1e-9)) }
func ceil(v float64) int  { return int(math.Ceil(v - 1e-9)) }
