// Command baresender is the floor the edge is measured against: it takes
// one camera's frames from capture over gRPC, builds each frame's MJPEG part
// once, and writes it to every viewer connected over TCP, one goroutine
// per viewer blocked in write. Nothing else: no routes, no pacing, no
// latest-frame choice for slow viewers, no deadlines, no metrics. Only the
// pipeline benchmarks run it (make bench builds bin/baresender).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/services/edge/mjpeg"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "baresender:", err)
		os.Exit(1)
	}
}

// frame is the newest part and the channel closed when a newer one comes.
type frame struct {
	part []byte
	next chan struct{}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("baresender", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "TCP address for viewers (any request gets the stream)")
	target := fs.String("capture", "localhost:50051", "capture's gRPC address")
	cameraID := fs.String("camera", "", "camera id")
	if err := fs.Parse(args); err != nil {
		return err
	}
	conn, err := grpc.NewClient(*target, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(32<<20)))
	if err != nil {
		return err
	}
	defer conn.Close()
	stream, err := camstreamv1.NewCaptureServiceClient(conn).StreamFrames(ctx, &camstreamv1.StreamFramesRequest{CameraId: *cameraID})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	go func() { <-ctx.Done(); ln.Close() }()
	fmt.Println("listening", ln.Addr())

	var latest atomic.Pointer[frame]
	latest.Store(&frame{next: make(chan struct{})})
	go func() {
		for {
			resp, err := stream.Recv()
			if err != nil {
				fmt.Fprintln(os.Stderr, "baresender: capture stream:", err)
				return
			}
			f := resp.GetFrame()
			part := mjpeg.AppendPart(nil, mjpeg.Frame{CameraID: *cameraID, Seq: f.GetSeq(), CapturedAt: f.GetCapturedAt().AsTime(), JPEG: f.GetJpeg()})
			old := latest.Swap(&frame{part: part, next: make(chan struct{})})
			close(old.next)
		}
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			return nil
		}
		go serve(c, &latest)
	}
}

// serve reads the request head and writes every newest part until the
// viewer goes away.
func serve(c net.Conn, latest *atomic.Pointer[frame]) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		if len(line) <= 2 {
			break
		}
	}
	head := "HTTP/1.1 200 OK\r\nContent-Type: " + mjpeg.ContentType + "\r\nConnection: close\r\n\r\n" + mjpeg.Preamble
	if _, err := c.Write([]byte(head)); err != nil {
		return
	}
	f := latest.Load()
	for {
		<-f.next
		f = latest.Load()
		if _, err := c.Write(f.part); err != nil {
			return
		}
	}
}
