package mjpeg

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		server.Close()
		client.Close()
	})
	return server, client
}

// A socket whose peer stops reading has no room for the next frame until
// the peer reads again; WaitRoom waits for that (or its timeout) and marks
// the viewer slow.
func TestWaitRoomWaitsForAFullSocket(t *testing.T) {
	server, client := tcpPair(t)
	out := newHijacked(context.Background(), func() {}, server, 200*time.Millisecond)
	if out.raw == nil {
		t.Fatal("no socket kept for a TCP connection")
	}

	if err := out.WaitRoom(); err != nil {
		t.Fatalf("WaitRoom on an empty socket: %v, want nil", err)
	}
	if out.Slow() {
		t.Fatal("Slow() = true after an empty socket had room, want false")
	}

	// Fill the socket: the peer reads nothing until writes time out.
	chunk := make([]byte, 64<<10)
	_ = server.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
	for {
		if _, err := server.Write(chunk); err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("filling the socket: %v", err)
			}
			break
		}
	}
	if err := out.WaitRoom(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("WaitRoom on a full socket: %v, want %v", err, os.ErrDeadlineExceeded)
	}
	if !out.Slow() {
		t.Fatal("Slow() = false after the socket lacked room, want true")
	}

	// Once the peer reads everything, there is room again.
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, client)
		done <- err
	}()
	out.timeout = 30 * time.Second
	if err := out.WaitRoom(); err != nil {
		t.Fatalf("WaitRoom after the peer read: %v, want nil", err)
	}
	client.Close()
	<-done
}
