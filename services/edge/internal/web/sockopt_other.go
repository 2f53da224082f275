//go:build !linux

package web

import "net"

// limitUnsent does nothing where TCP_NOTSENT_LOWAT is not available.
func limitUnsent(net.Conn, int) {}
