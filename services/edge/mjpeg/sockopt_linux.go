package mjpeg

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

// setUnsentLimit caps the bytes a viewer's socket holds that are not yet
// sent (TCP_NOTSENT_LOWAT). Without it the kernel buffers megabytes for a
// viewer that reads slowly, and that viewer sees frames seconds old; with it
// a write waits instead, and the viewer then gets the newest frame. Data in
// flight is not limited, so fast and distant viewers keep their throughput.
func setUnsentLimit(raw syscall.RawConn, bytes int) {
	_ = raw.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT, bytes)
	})
}

// roomPoller returns the function that Conn.WaitRoom passes to the
// socket's RawConn.Write: it reports whether the socket takes more bytes
// now (its unsent bytes are below half the TCP_NOTSENT_LOWAT cap, or it
// has failed and the next write will say so); when it does not, it sets
// *waited and the runtime waits for the socket to become writable and asks
// again. A poll error is stored in *errp.
func roomPoller(errp *error, waited *bool) func(fd uintptr) bool {
	var fds [1]unix.PollFd
	return func(fd uintptr) bool {
		fds[0] = unix.PollFd{Fd: int32(fd), Events: unix.POLLOUT}
		for {
			n, err := unix.Poll(fds[:], 0)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil {
				*errp = err
				return true
			}
			if n == 0 {
				*waited = true
			}
			return n > 0
		}
	}
}
