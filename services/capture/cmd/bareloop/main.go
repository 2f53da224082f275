// Command bareloop is the reference that capture's CPU cost is measured
// against: it reads a source with OpenCV and encodes every frame to JPEG,
// nothing else (no resize, no fan-out, no gRPC). `make bench` runs it on the
// same camera and quality as capture and reports capture's CPU as a ratio.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"gocv.io/x/gocv"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bareloop:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bareloop", flag.ContinueOnError)
	source := fs.String("source", "", "video URL or file read with OpenCV's FFmpeg backend")
	quality := fs.Int("quality", 70, "JPEG quality 1..100")
	duration := fs.Duration("duration", 0, "stop after this long (0: until interrupted)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *source == "" {
		return errors.New("--source is required")
	}
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	vc, err := gocv.VideoCaptureFileWithAPI(*source, gocv.VideoCaptureFFmpeg)
	if err != nil {
		return fmt.Errorf("open source: %w", err)
	}
	defer vc.Close()
	img := gocv.NewMat()
	defer img.Close()
	params := []int{gocv.IMWriteJpegQuality, *quality}
	frames, bytes := 0, 0
	start := time.Now()
	for ctx.Err() == nil {
		if !vc.Read(&img) || img.Empty() {
			return errors.New("source ended")
		}
		jpeg, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, img, params)
		if err != nil {
			return fmt.Errorf("encode: %w", err)
		}
		frames++
		bytes += len(jpeg)
	}
	elapsed := time.Since(start).Seconds()
	fmt.Fprintf(stdout, "frames=%d fps=%.2f avg_jpeg_bytes=%d\n", frames, float64(frames)/elapsed, bytes/max(frames, 1))
	return nil
}
