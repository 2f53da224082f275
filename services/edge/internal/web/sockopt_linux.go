package web

import (
	"net"

	"golang.org/x/sys/unix"
)

// limitUnsent caps the bytes a viewer's socket holds that are not yet sent
// (TCP_NOTSENT_LOWAT). Without it the kernel buffers megabytes for a viewer
// that reads slowly, and that viewer sees frames seconds old; with it a write
// waits instead, and the viewer then gets the newest frame. Data in flight is
// not limited, so fast and distant viewers keep their throughput.
func limitUnsent(conn net.Conn, bytes int) {
	tcp, ok := conn.(*net.TCPConn)
	if !ok {
		return
	}
	raw, err := tcp.SyscallConn()
	if err != nil {
		return
	}
	_ = raw.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT, bytes)
	})
}
