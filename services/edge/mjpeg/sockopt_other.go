//go:build !linux

package mjpeg

import "syscall"

// setUnsentLimit does nothing where TCP_NOTSENT_LOWAT is not available.
func setUnsentLimit(syscall.RawConn, int) {}

// roomPoller reports room at once where the unsent bytes are not capped.
func roomPoller(*error, *bool) func(fd uintptr) bool {
	return func(uintptr) bool { return true }
}
