// Package catalog is what the edge's pages and streams need to know of the
// cameras: the Catalog interface, which upstream.Pool implements over the
// capture services, and the errors it answers with.
package catalog

import (
	"context"
	"errors"
	"fmt"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
)

var (
	// ErrNotFound means no capture lists the camera.
	ErrNotFound = errors.New("camera not found")
	// ErrUnavailable means the capture owning the camera, or every capture,
	// does not answer.
	ErrUnavailable = errors.New("capture unreachable")
)

// NoFrameError is Snapshot's error when the camera's capture answers but
// the camera has no frame to give: the State it is listed in (not
// streaming) and its LastError, which capture redacts. It is an
// ErrUnavailable, so code that only retries needs not know it.
type NoFrameError struct {
	ID        string
	State     camstreamv1.CameraState
	LastError string
}

func (e *NoFrameError) Error() string {
	return fmt.Sprintf("camera %q has no frame (%s): %s", e.ID, e.State, e.LastError)
}

// Unwrap returns ErrUnavailable.
func (e *NoFrameError) Unwrap() error { return ErrUnavailable }

// Catalog knows the cameras and where they are.
type Catalog interface {
	// Cameras lists every camera; ErrUnavailable when no capture answers.
	Cameras() ([]*camstreamv1.Camera, error)
	// Camera finds one; ErrNotFound or ErrUnavailable.
	Camera(ctx context.Context, id string) (*camstreamv1.Camera, error)
	// Snapshot asks the camera's capture for its newest frame at ladder
	// width (0: full size).
	Snapshot(ctx context.Context, id string, width int) (*camstreamv1.Frame, error)
	// Ready reports whether a capture answers.
	Ready() bool
	// Captures lists the capture addresses and their state.
	Captures() []Capture
}

// Capture is one capture address the edge polls.
type Capture struct {
	Address string
	Up      bool // answered the last poll
	Polled  bool // polled at least once
	Cameras int  // cameras it listed when it last answered
}
