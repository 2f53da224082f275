// Package size is the edge's side of picture sizes: the ?width= a viewer
// asks for, snapped down to the ladder of widths capture encodes, and the
// key of a camera's feed at one size, so that the edge keeps one upstream
// per camera and size.
package size

import (
	"fmt"
	"strconv"
	"strings"
)

// Ladder returns every width a smaller picture can have, narrowest first
// (capture encodes these and no others).
func Ladder() [7]int { return [...]int{160, 320, 480, 640, 960, 1280, 1920} }

// Snap returns the widest ladder step not above w (the narrowest step
// for anything below it); 0 stays 0, the full size.
func Snap(w int) int {
	if w <= 0 {
		return 0
	}
	steps := Ladder()
	out := steps[0]
	for _, step := range steps {
		if step <= w {
			out = step
		}
	}
	return out
}

// Parse reads a ?width= value: a whole number of pixels above 0, snapped
// down to the ladder.
func Parse(v string) (int, error) {
	w, err := strconv.Atoi(v)
	if err != nil || w <= 0 {
		return 0, fmt.Errorf("width=%q is not a width: use a number of pixels above 0, like width=320", v)
	}
	return Snap(w), nil
}

// For returns the ladder width to ask capture for when a viewer wants
// width w of a camera whose full width is full (0 when not known yet): 0,
// the full size, when w is 0 or not below the camera's own width.
func For(w, full int) int {
	w = Snap(w)
	if full > 0 && w >= full {
		return 0
	}
	return w
}

// Key names a camera's feed at ladder width w (0: full size). Camera ids
// are [a-z0-9-]+, so the separator cannot occur in one.
func Key(cameraID string, w int) string {
	if w == 0 {
		return cameraID
	}
	return cameraID + "@" + strconv.Itoa(w)
}

// SplitKey is the inverse of Key.
func SplitKey(key string) (cameraID string, w int) {
	id, ws, ok := strings.Cut(key, "@")
	if !ok {
		return key, 0
	}
	w, err := strconv.Atoi(ws)
	if err != nil {
		return key, 0
	}
	return id, w
}
