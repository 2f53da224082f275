// Package size is the ladder of picture widths a camera's frames are
// offered at besides its full size. Wanted widths snap down to the ladder,
// so however many different screens watch a camera, only a handful of
// sizes are ever encoded.
package size

import "fmt"

// Ladder returns every width a smaller picture can have, narrowest first.
func Ladder() [7]int { return [...]int{160, 320, 480, 640, 960, 1280, 1920} }

// Snap returns the ladder width for a wanted width: the widest step not
// above it (the narrowest step for anything below), or 0 for 0, which
// means the full size. A negative width is an error.
func Snap(want int) (int, error) {
	if want < 0 {
		return 0, fmt.Errorf("width %d is negative (want 0 for the full size, or pixels)", want)
	}
	if want == 0 {
		return 0, nil
	}
	steps := Ladder()
	w := steps[0]
	for _, step := range steps {
		if step <= want {
			w = step
		}
	}
	return w, nil
}

// Height returns the height of a picture of full size fw×fh scaled to
// width w, keeping the aspect ratio (rounded, at least 1).
func Height(w, fw, fh int) int {
	if fw <= 0 {
		return 0
	}
	return max((w*fh+fw/2)/fw, 1)
}
